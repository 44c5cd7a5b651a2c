// The LMDB wrappers: the environment (one per directory per process), read and write
// transactions, tables and cursors, with every failure turned into a StorageError.

#include "lmdb.hpp"

#include <airlock/util/assert.hpp>
#include <airlock/util/error.hpp>

#include <fmt/core.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <system_error>
#include <vector>

namespace airlock::storage::lmdb {

namespace {

// Environments open in this process, by (st_dev, st_ino) of their directory. LMDB forbids
// opening one environment twice in a process: closing the second would release the first
// one's POSIX locks and let another process corrupt it.
struct OpenEnvs
{
  std::mutex mutex;
  std::set<std::pair<std::uint64_t, std::uint64_t>> ids;
};

OpenEnvs&
open_envs()
{
  static OpenEnvs envs;
  return envs;
}

// The environments with a live write transaction on this thread. A second mdb_txn_begin
// for writing on the same thread and environment would wait forever for its own lock.
thread_local std::vector<const Env*> t_writers;

std::string
format_size(std::uint64_t bytes)
{
  static constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (unit + 1 < std::size(k_units) && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{}{}", bytes, k_units[unit]);
}

// Throws instead of letting mdb_txn_begin deadlock on this thread's own writer lock, as
// pdns lmdb-safe does ("Duplicate RW transaction").
const Env&
check_not_writing(const Env& env)
{
  if (std::find(t_writers.begin(), t_writers.end(), &env) != t_writers.end()) {
    throw StorageError(
      fmt::format("LMDB index {}: nested write transaction on one thread", env.dir().string()));
  }
  return env;
}

} // namespace

void
raise(int rc, const Env* env, std::string_view operation)
{
  const std::string where = env != nullptr ? env->dir().string() : std::string("?");
  switch (rc) {
  case MDB_MAP_FULL:
    throw StorageError(fmt::format("LMDB map full (map_size {}) while {}: raise [storage] map_size",
                                   env != nullptr ? format_size(env->map_size()) : std::string("?"),
                                   operation));
  case MDB_CORRUPTED:
    throw StorageError(
      fmt::format("LMDB index {} is corrupted (while {}): restore it from a backup", where, operation));
  case MDB_PANIC:
    throw StorageError(
      fmt::format("LMDB panic in {} while {}: {}; restart airlock", where, operation, mdb_strerror(rc)));
  default:
    throw StorageError(fmt::format("LMDB error in {} while {}: {}", where, operation, mdb_strerror(rc)));
  }
}

std::string
describe_key(std::string_view key)
{
  // A file key ends in '\0' and 32 digest bytes: text, then the digest in hex.
  constexpr std::size_t k_digest = 32;
  if (key.size() > k_digest + 1 && key[key.size() - k_digest - 1] == '\0') {
    const auto head = key.substr(0, key.size() - k_digest);
    const bool text_head = std::all_of(head.begin(), head.end(), [](char c) { return c == '\0' || (c >= 0x20 && c < 0x7f); });
    if (text_head && head.find('\0') < head.size() - 1) {
      std::string out = describe_key(head);
      for (const char c : key.substr(head.size())) {
        out += fmt::format("{:02x}", static_cast<unsigned char>(c));
      }
      return out;
    }
  }
  const bool text =
    std::all_of(key.begin(), key.end(), [](char c) { return c == '\0' || (c >= 0x20 && c < 0x7f); });
  std::string out;
  for (const char c : key) {
    if (!text) {
      out += fmt::format("{:02x}", static_cast<unsigned char>(c));
    } else if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return out;
}

Env::Env(std::filesystem::path dir, std::uint64_t map_size, unsigned max_tables)
  : m_dir(std::move(dir)),
    m_map_size(map_size)
{
  std::error_code ec;
  std::filesystem::create_directories(m_dir, ec);
  if (ec) {
    throw StorageError(fmt::format("cannot create directory {}: {}", m_dir.string(), ec.message()));
  }
  struct stat st{};
  if (::stat(m_dir.c_str(), &st) != 0) {
    throw StorageError(fmt::format("cannot stat {}: {}", m_dir.string(), std::strerror(errno)));
  }
  m_id = {st.st_dev, st.st_ino};
  {
    auto& envs = open_envs();
    const std::lock_guard lock(envs.mutex);
    if (!envs.ids.insert(m_id).second) {
      throw StorageError(fmt::format("LMDB index {} is already open in this process", m_dir.string()));
    }
  }

  try {
    int rc = mdb_env_create(&m_env);
    if (rc != 0) {
      raise(rc, this, "creating the environment");
    }
    if ((rc = mdb_env_set_mapsize(m_env, map_size)) != 0) {
      raise(rc, this, "setting map_size");
    }
    if ((rc = mdb_env_set_maxdbs(m_env, max_tables)) != 0) {
      raise(rc, this, "setting max tables");
    }
    // MDB_NOTLS: read transactions are not tied to threads (and their reader slots are
    // per transaction), so any request thread may run one.
    if ((rc = mdb_env_open(m_env, m_dir.c_str(), MDB_NOTLS, 0644)) != 0) {
      raise(rc, this, "opening the environment");
    }
    int dead = 0;
    if ((rc = mdb_reader_check(m_env, &dead)) != 0) {
      raise(rc, this, "clearing stale readers");
    }
  } catch (...) {
    if (m_env != nullptr) {
      mdb_env_close(m_env);
    }
    auto& envs = open_envs();
    const std::lock_guard lock(envs.mutex);
    envs.ids.erase(m_id);
    throw;
  }
}

Env::~Env()
{
  mdb_env_close(m_env);
  auto& envs = open_envs();
  const std::lock_guard lock(envs.mutex);
  envs.ids.erase(m_id);
}

Txn::Txn(const Env& env, unsigned flags) : m_env(&env)
{
  const int rc = mdb_txn_begin(env.handle(), nullptr, flags, &m_txn);
  if (rc != 0) {
    m_txn = nullptr;
    raise(rc,
          &env,
          (flags & MDB_RDONLY) != 0 ? "beginning a read transaction" : "beginning a write transaction");
  }
}

Txn::Txn(Txn&& other) noexcept : m_env(other.m_env), m_txn(std::exchange(other.m_txn, nullptr))
{
}

Txn&
Txn::operator=(Txn&& other) noexcept
{
  if (this != &other) {
    abort();
    m_env = other.m_env;
    m_txn = std::exchange(other.m_txn, nullptr);
  }
  return *this;
}

Txn::~Txn()
{
  abort();
}

void
Txn::abort() noexcept
{
  if (m_txn != nullptr) {
    mdb_txn_abort(std::exchange(m_txn, nullptr));
  }
}

std::optional<std::string_view>
Txn::get(const Table& table, std::string_view key) const
{
  AIRLOCK_ASSERT(m_txn != nullptr);
  MDB_val k = to_val(key);
  MDB_val v{};
  const int rc = mdb_get(m_txn, table.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return std::nullopt;
  }
  if (rc != 0) {
    raise(rc, m_env, fmt::format("reading {}", table.name));
  }
  return to_view(v);
}

ReadTxn::ReadTxn(const Env& env) : Txn(env, MDB_RDONLY)
{
}

WriteTxn::WriteTxn(const Env& env) : Txn(check_not_writing(env), 0)
{
  m_holds_thread_slot = true;
  t_writers.push_back(&env);
}

WriteTxn::WriteTxn(WriteTxn&& other) noexcept
  : Txn(std::move(other)),
    m_holds_thread_slot(std::exchange(other.m_holds_thread_slot, false))
{
}

WriteTxn&
WriteTxn::operator=(WriteTxn&& other) noexcept
{
  if (this != &other) {
    abort();
    release_thread_slot();
    Txn::operator=(std::move(other));
    m_holds_thread_slot = std::exchange(other.m_holds_thread_slot, false);
  }
  return *this;
}

WriteTxn::~WriteTxn()
{
  abort();
  release_thread_slot();
}

void
WriteTxn::release_thread_slot() noexcept
{
  if (m_holds_thread_slot) {
    const auto it = std::find(t_writers.begin(), t_writers.end(), m_env);
    if (it != t_writers.end()) {
      t_writers.erase(it);
    }
    m_holds_thread_slot = false;
  }
}

Table
WriteTxn::open_table(const char* name, Dup dup)
{
  AIRLOCK_ASSERT(m_txn != nullptr);
  Table table{name, 0};
  const unsigned flags = MDB_CREATE | (dup == Dup::sorted ? MDB_DUPSORT : 0U);
  const int rc = mdb_dbi_open(m_txn, name, flags, &table.dbi);
  if (rc != 0) {
    raise(rc, m_env, fmt::format("opening table {}", name));
  }
  return table;
}

void
WriteTxn::check_size(const Table& table,
                     std::string_view key,
                     std::string_view checked,
                     const char* what) const
{
  // LMDB would refuse with MDB_BAD_VALSIZE; this says which key and why.
  const auto max = static_cast<std::size_t>(mdb_env_get_maxkeysize(m_env->handle()));
  if (checked.empty() || checked.size() > max) {
    throw StorageError(fmt::format("cannot write {} key {}: the {} is {} bytes, LMDB allows 1 to {}",
                                   table.name,
                                   describe_key(key),
                                   what,
                                   checked.size(),
                                   max));
  }
}

void
WriteTxn::put(const Table& table, std::string_view key, std::string_view value)
{
  AIRLOCK_ASSERT(m_txn != nullptr);
  check_size(table, key, key, "key");
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  const int rc = mdb_put(m_txn, table.dbi, &k, &v, 0);
  if (rc != 0) {
    raise(rc, m_env, fmt::format("writing {}", table.name));
  }
}

void
WriteTxn::put_dup(const Table& table, std::string_view key, std::string_view value)
{
  AIRLOCK_ASSERT(m_txn != nullptr);
  check_size(table, key, key, "key");
  // A Dup::sorted table stores its values as keys of a sub-database: the same limit.
  check_size(table, key, value, "value");
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  const int rc = mdb_put(m_txn, table.dbi, &k, &v, MDB_NODUPDATA);
  if (rc != 0 && rc != MDB_KEYEXIST) {
    raise(rc, m_env, fmt::format("writing {}", table.name));
  }
}

void
WriteTxn::clear(const Table& table)
{
  AIRLOCK_ASSERT(m_txn != nullptr);
  if (const int rc = mdb_drop(m_txn, table.dbi, 0); rc != 0) {
    raise(rc, m_env, fmt::format("clearing {}", table.name));
  }
}

bool
WriteTxn::del(const Table& table, std::string_view key)
{
  AIRLOCK_ASSERT(m_txn != nullptr);
  MDB_val k = to_val(key);
  const int rc = mdb_del(m_txn, table.dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) {
    return false;
  }
  if (rc != 0) {
    raise(rc, m_env, fmt::format("deleting from {}", table.name));
  }
  return true;
}

bool
WriteTxn::del_dup(const Table& table, std::string_view key, std::string_view value)
{
  AIRLOCK_ASSERT(m_txn != nullptr);
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  const int rc = mdb_del(m_txn, table.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return false;
  }
  if (rc != 0) {
    raise(rc, m_env, fmt::format("deleting from {}", table.name));
  }
  return true;
}

void
WriteTxn::commit()
{
  AIRLOCK_ASSERT(m_txn != nullptr);
  // Null the handle first: mdb_txn_commit frees the transaction even when it fails, so
  // the destructor must not abort it again.
  MDB_txn* txn = std::exchange(m_txn, nullptr);
  release_thread_slot();
  const int rc = mdb_txn_commit(txn);
  if (rc != 0) {
    raise(rc, m_env, "committing a write transaction");
  }
}

Cursor::Cursor(const Txn& txn, const Table& table) : m_txn(txn), m_table(table)
{
  AIRLOCK_ASSERT(txn.handle() != nullptr);
  const int rc = mdb_cursor_open(txn.handle(), table.dbi, &m_cursor);
  if (rc != 0) {
    raise(rc, &txn.env(), fmt::format("opening a cursor on {}", table.name));
  }
}

Cursor::~Cursor()
{
  mdb_cursor_close(m_cursor);
}

std::optional<Cursor::Entry>
Cursor::first()
{
  MDB_val key{};
  return get(&key, MDB_FIRST);
}

std::optional<Cursor::Entry>
Cursor::seek(std::string_view key)
{
  MDB_val k = to_val(key);
  return get(&k, MDB_SET_RANGE);
}

std::optional<Cursor::Entry>
Cursor::next()
{
  MDB_val key{};
  return get(&key, MDB_NEXT);
}

std::optional<Cursor::Entry>
Cursor::last()
{
  MDB_val key{};
  return get(&key, MDB_LAST);
}

std::optional<Cursor::Entry>
Cursor::prev()
{
  MDB_val key{};
  return get(&key, MDB_PREV);
}

std::optional<Cursor::Entry>
Cursor::get(MDB_val* key, MDB_cursor_op op)
{
  MDB_val value{};
  const int rc = mdb_cursor_get(m_cursor, key, &value, op);
  if (rc == MDB_NOTFOUND) {
    return std::nullopt;
  }
  if (rc != 0) {
    raise(rc, &m_txn.env(), fmt::format("reading {}", m_table.name));
  }
  return Entry{to_view(*key), to_view(value)};
}

} // namespace airlock::storage::lmdb
