#!/usr/bin/env python3
"""Groups a flat `perf record` profile of Airlock into categories, with the top symbols of each.

    python3 bench/perf_summary.py PERF.DATA [TOP]

bench/run --profile DIR runs it for each scenario (DIR/<scenario>.summary.txt). Categories are
matched in order by regular expressions over "dso symbol", so a symbol counts once. Sampling is
on the cpu-clock software event (hardware counters are usually absent in VMs), without call
graphs: Release builds have no frame pointers, and coroutine frames make inclusive times
misleading anyway. Self time per category is what it reports.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys

RULES = [
    ("kernel: scheduler, wakeups, IRQ-restore (context switches)",
     r"\[k\].*(finish_task_switch|_raw_spin_unlock_irq|schedule|pick_next|__switch_to|enqueue_task|dequeue_task|"
     r"ttwu|try_to_wake|wake_up|select_task|update_curr|update_load|psi_)"),
    ("kernel: TCP/IP send+receive on loopback (incl. softirq rx)",
     r"\[k\].*(tcp_|__tcp|ip_|__ip|dev_queue|netif|napi|skb|sock_|sk_|loopback|net_rx|softirq|inet_|__dev|"
     r"release_sock|lock_sock|ipv4|nf_|validate_xmit|dst_|fib|process_backlog|bbr_|__inet|raw_v4|__netif)"),
    ("kernel: copies to/from user, splice/sendfile, page cache",
     r"\[k\].*(copy_from_iter|copy_to_iter|copy_user|copy_page|splice|filemap|page_cache|pipe_|folio|memcpy)"),
    ("kernel: epoll, futex, timers",
     r"\[k\].*(epoll|ep_|futex|hrtimer|timerfd)"),
    ("kernel: filesystem (ext4, open/stat, fsync)",
     r"\[k\].*(ext4|jbd2|find_get_block|recently_deleted|dentry|d_lookup|path_|link_path|inode|namei|vfs_|"
     r"do_sys_open|filename_|getname|lookup_|__fput|fsync|blk_|bio_)"),
    ("kernel: other (syscall entry, fd table, faults)", r"\[k\]"),
    ("libc malloc/free", r"(malloc|_int_free|cfree|_int_malloc|free@|tcache|unlink_chunk|malloc_consolidate|"
                         r"operator new|operator delete|__libc_memalign|CRYPTO_malloc|CRYPTO_free)"),
    ("locks, atomics, shared_ptr", r"(pthread_mutex|pthread_rwlock|_Sp_counted|__lll|pthread_cond)"),
    ("Beast: response header serialization (fields writer, buffers_cat_view, serializer)",
     r"(buffers_cat_view|buffers_suffix|buffers_prefix|field_range|writer::|serializer|chunk_crlf|buffers_ref|"
     r"field_iterator|mp_with_index|http::to_string|basic_fields.*writer)"),
    ("Beast: request parsing and header fields", r"(basic_parser|parse_field|basic_fields|http::detail::read|"
                                                 r"find_fast|iless|new_element|set_element)"),
    ("Asio: executors, strands, scheduler, reactor, timers, coroutine frames",
     r"(asio::|any_io_executor|any_executor|strand|scheduler|reactor|awaitable|co_spawn|timer_queue|"
     r"basic_stream|transfer_op|async_base|composed_op|rbtree)"),
    ("LMDB", r"(mdb_|liblmdb)"),
    ("OpenSSL (SHA-256)", r"(sha256|SHA256|libcrypto|EVP_)"),
    ("Airlock code", r"airlock::"),
    ("libc other (memcpy, memset, syscall wrappers)", r"(libc|memcpy|memmove|memset|strlen|memchr|memcmp)"),
    ("other", r"."),
]


def summarize(data: str, top: int = 4) -> str:
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "--sort", "dso,sym",
                          "--percent-limit", "0"], capture_output=True, text=True).stdout
    totals: dict[str, float] = collections.OrderedDict((name, 0.0) for name, _ in RULES)
    symbols: dict[str, list] = collections.defaultdict(list)
    samples = re.search(r"# Samples: (\S+)", out)
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+(.*)", line)
        if not m:
            continue
        pct, text = float(m.group(1)), m.group(2) + " " + m.group(3)
        for name, rx in RULES:
            if re.search(rx, text):
                totals[name] += pct
                symbols[name].append((pct, m.group(3).strip()))
                break
    lines = [f"{data}: {samples.group(1) if samples else '?'} samples (cpu-clock), self time by category"]
    for name, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
        if pct < 0.05:
            continue
        lines.append(f"{pct:6.1f}%  {name}")
        for spct, sym in sorted(symbols[name], reverse=True)[:top]:
            lines.append(f"           {spct:5.2f}%  {sym[:150]}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4))
