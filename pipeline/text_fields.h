// Quoting text for the CSV and JSON files sinks write (header-only, public: the standard stages,
// the report and a plugin's own sink quote the same way).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pipeline/utf8.h"

namespace pipeline {

// True when the whole of `text` is a number as strtod reads it ("-1.5", "+3", "1e-5").
inline bool IsPlainNumber(const std::string& text) {
  if (text.empty() || text.find_first_of(" \t\r\n") != std::string::npos) return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. A cell that a
// spreadsheet would run as a formula (starting with = + - @, tab or carriage return, as a file
// name may) gets a leading single quote, as OWASP advises against CSV injection; numbers such
// as -1.5 are left as they are.
inline std::string CsvField(const std::string& raw) {
  std::string text = raw;
  if (!text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos &&
      !IsPlainNumber(text)) {
    text.insert(0, 1, '\'');
  }
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// A JSON string literal: quotes and backslashes escaped, control characters as \u00XX, and each
// byte that is not UTF-8 (a file name from a Latin-1 file system) as U+FFFD, so that every line
// stays JSON.
inline std::string JsonString(const std::string& raw) {
  const std::string text = ReplaceInvalidUtf8(raw);
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      quoted += escaped;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

}  // namespace pipeline
