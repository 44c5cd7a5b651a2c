#pragma once

// The store's schema check and its migrations, private to airlock_storage: Store runs them
// once when it opens the index, before anything reads a key.

#include <airlock/storage/store.hpp>

#include "lmdb.hpp"
#include "tables.hpp"

namespace airlock::storage {

// Brings the index to keys::k_schema_version in one transaction (all or nothing): a new store
// is stamped, a schema 1 store is migrated. Throws StorageError for a store of a newer schema.
void upgrade_schema(const lmdb::Env& env, const Tables& tables, const Options& options);

} // namespace airlock::storage
