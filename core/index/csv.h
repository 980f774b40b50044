// A small RFC 4180 CSV reader for dataset lists (path,lat,lon,...).
//
//   GEOLOC_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text));
//   int lat = table.Column("lat");  // -1 when absent
//   for (const CsvRow& row : table.rows) Use(row.fields[lat], row.line);
//
// Rules: the first record is the header (required; names are trimmed and compared
// case-insensitively by Column()); fields are separated by ','; a field in double quotes may
// contain commas, newlines and "" for a quote; LF or CRLF line ends; a UTF-8 byte-order mark at
// the start is skipped; blank lines are skipped. Every record must have as many fields as the
// header. Errors are INVALID_ARGUMENT with the 1-based line number.
//
// Plain value types and pure functions: safe from any thread.
#ifndef GEOLOC_CORE_INDEX_CSV_H_
#define GEOLOC_CORE_INDEX_CSV_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc::index {

struct CsvRow {
  std::vector<std::string> fields;
  int64_t line = 0;  // 1-based line where the record starts
};

struct CsvTable {
  std::vector<std::string> header;
  std::vector<CsvRow> rows;

  // Index of the first header name equal (case-insensitively) to any of `names`, or -1.
  int Column(std::initializer_list<absl::string_view> names) const;
};

absl::StatusOr<CsvTable> ParseCsv(absl::string_view text);

}  // namespace geoloc::index

#endif  // GEOLOC_CORE_INDEX_CSV_H_
