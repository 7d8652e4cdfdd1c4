// open_store: picks the Store implementation from the --db value.
#include "server/sqlite_store.h"
#include "util/error.h"
#ifdef MOSS_HAVE_POSTGRES
#include "server/pg_store.h"
#endif

namespace moss::server {

std::unique_ptr<Store> open_store(const std::string& url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
#ifdef MOSS_HAVE_POSTGRES
    return std::make_unique<PgStore>(url);
#else
    fail("this moss was built without PostgreSQL support (libpq not found); use --db sqlite:PATH");
#endif
  }
  std::string path = url;
  if (path.rfind("sqlite:", 0) == 0) path = path.substr(7);
  if (path.rfind("//", 0) == 0) path = path.substr(2);  // sqlite://PATH
  return std::make_unique<SqliteStore>(path);
}

}  // namespace moss::server
