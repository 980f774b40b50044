#include "core/index/csv.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace geoloc::index {

int CsvTable::Column(std::initializer_list<absl::string_view> names) const {
  for (absl::string_view name : names) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (absl::EqualsIgnoreCase(header[i], name)) return static_cast<int>(i);
    }
  }
  return -1;
}

absl::StatusOr<CsvTable> ParseCsv(absl::string_view text) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  CsvTable table;
  std::vector<std::string> record;
  std::string field;
  int64_t line = 1;
  int64_t record_line = 1;
  size_t i = 0;
  bool have_header = false;

  // Finishes a record: blank lines (one empty field) are skipped.
  auto finish = [&]() -> absl::Status {
    record.push_back(std::move(field));
    field.clear();
    if (record.size() == 1 && record[0].empty()) {
      record.clear();
      return absl::OkStatus();
    }
    if (!have_header) {
      for (std::string& name : record) {
        table.header.push_back(std::string(absl::StripAsciiWhitespace(name)));
      }
      have_header = true;
    } else {
      if (record.size() != table.header.size()) {
        return absl::InvalidArgumentError(absl::StrCat("CSV line ", record_line, ": ",
                                                       record.size(), " fields, the header has ",
                                                       table.header.size()));
      }
      table.rows.push_back(CsvRow{std::move(record), record_line});
    }
    record.clear();
    return absl::OkStatus();
  };

  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' && field.empty()) {
      // Quoted field: runs to the closing quote; "" is a literal quote.
      const int64_t start_line = line;
      ++i;
      while (true) {
        if (i >= text.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("CSV line ", start_line, ": unterminated quoted field"));
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field.push_back(text[i++]);
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return absl::InvalidArgumentError(
            absl::StrCat("CSV line ", line, ": text after a closing quote"));
      }
      continue;
    }
    if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      ++i;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      absl::Status st = finish();
      if (!st.ok()) return st;
      ++line;
      record_line = line;
    } else {
      field.push_back(c);
      ++i;
    }
  }
  if (!field.empty() || !record.empty()) {
    absl::Status st = finish();
    if (!st.ok()) return st;
  }
  if (!have_header) return absl::InvalidArgumentError("CSV is empty (a header is required)");
  return table;
}

}  // namespace geoloc::index
