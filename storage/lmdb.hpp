#pragma once

// Thin move-only RAII wrappers over the LMDB C API, private to airlock_storage. Failures
// throw StorageError naming the operation; "no such key" is std::nullopt, never an error.

#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace airlock::storage::lmdb {

class Env;

// Throws StorageError for an LMDB return code, naming `operation` ("writing files").
[[noreturn]] void raise(int rc, const Env* env, std::string_view operation);

// A key as it reads in a message: text as is (with \0 for NUL), anything else in hex.
std::string describe_key(std::string_view key);

// A named database. `name` must outlive the table (a string literal).
struct Table
{
  const char* name = nullptr;
  MDB_dbi dbi = 0;
};

// Extra flags for a table, passed to open_table.
enum class Dup { no, sorted };

// An LMDB environment: one per directory per process (a second one in the same process
// throws: closing it would drop the first one's POSIX locks). Not movable, so transactions
// can keep a pointer to it.
class Env
{
public:
  // Opens or creates the environment in directory `dir` (created when missing) with
  // MDB_NOTLS, then clears stale reader slots left by crashed processes.
  Env(std::filesystem::path dir, std::uint64_t map_size, unsigned max_tables);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  MDB_env* handle() const { return m_env; }
  std::uint64_t map_size() const { return m_map_size; }
  const std::filesystem::path& dir() const { return m_dir; }

private:
  std::filesystem::path m_dir;
  std::uint64_t m_map_size = 0;
  MDB_env* m_env = nullptr;
  std::pair<std::uint64_t, std::uint64_t> m_id{}; // st_dev, st_ino of m_dir
};

// What ReadTxn and WriteTxn share: lookups and cursors. Aborts in the destructor.
class Txn
{
public:
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  // Returns the value, valid until the transaction ends; nullopt when the key is absent.
  // In a Dup::sorted table, the first value of the key.
  std::optional<std::string_view> get(const Table& table, std::string_view key) const;

  // Calls fn(key, value) for each entry whose key starts with `prefix` (every entry when
  // it is empty), in key order. The views are valid until the transaction ends.
  template<typename Fn> void for_each(const Table& table, std::string_view prefix, Fn&& fn) const;

  MDB_txn* handle() const { return m_txn; }
  const Env& env() const { return *m_env; }

protected:
  Txn(const Env& env, unsigned flags);
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&& other) noexcept;
  ~Txn();
  void abort() noexcept;

  const Env* m_env;
  MDB_txn* m_txn = nullptr;
};

// A read-only snapshot. Any thread may use it (MDB_NOTLS), one at a time. Keep it short:
// a live reader pins the pages it sees.
class ReadTxn : public Txn
{
public:
  explicit ReadTxn(const Env& env);
  ReadTxn(ReadTxn&&) noexcept = default;
  ReadTxn& operator=(ReadTxn&&) noexcept = default;
  ~ReadTxn() = default;
};

// The single writer. Aborts on destruction unless committed. Bound to the thread that
// began it; beginning a second one on the same thread and environment throws instead of
// deadlocking on LMDB's writer lock.
class WriteTxn : public Txn
{
public:
  explicit WriteTxn(const Env& env);
  WriteTxn(WriteTxn&& other) noexcept;
  WriteTxn& operator=(WriteTxn&& other) noexcept;
  ~WriteTxn();

  // Opens a named table, creating it when missing. The handle stays valid for the
  // environment's lifetime once this transaction commits.
  Table open_table(const char* name, Dup dup = Dup::no);
  void put(const Table& table, std::string_view key, std::string_view value);
  // Dup::sorted tables: adds the pair unless it is already there.
  void put_dup(const Table& table, std::string_view key, std::string_view value);
  // Removes the key (every value, in a Dup::sorted table); false when it was absent.
  bool del(const Table& table, std::string_view key);
  // Removes every entry of the table; the table stays.
  void clear(const Table& table);
  // Dup::sorted tables: removes one pair; false when it was absent.
  bool del_dup(const Table& table, std::string_view key, std::string_view value);
  void commit();

private:
  // Throws StorageError when `checked` (the key or a dup value) is empty or too long.
  void check_size(const Table& table, std::string_view key, std::string_view checked, const char* what) const;
  void release_thread_slot() noexcept;

  bool m_holds_thread_slot = false;
};

// A cursor, scoped inside its transaction.
class Cursor
{
public:
  using Entry = std::pair<std::string_view, std::string_view>;

  Cursor(const Txn& txn, const Table& table);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  std::optional<Entry> first();
  // The first entry whose key is >= `key`.
  std::optional<Entry> seek(std::string_view key);
  std::optional<Entry> next();
  std::optional<Entry> last();
  std::optional<Entry> prev();

private:
  std::optional<Entry> get(MDB_val* key, MDB_cursor_op op);

  const Txn& m_txn;
  Table m_table;
  MDB_cursor* m_cursor = nullptr;
};

inline MDB_val
to_val(std::string_view s)
{
  // LMDB never writes through mv_data for keys or put values; the cast is its C API's.
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

inline std::string_view
to_view(const MDB_val& v)
{
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

template<typename Fn>
void
Txn::for_each(const Table& table, std::string_view prefix, Fn&& fn) const
{
  Cursor cursor(*this, table);
  for (auto entry = prefix.empty() ? cursor.first() : cursor.seek(prefix);
       entry && entry->first.starts_with(prefix);
       entry = cursor.next()) {
    fn(entry->first, entry->second);
  }
}

} // namespace airlock::storage::lmdb
