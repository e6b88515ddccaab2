// Quoting text for the CSV and JSON files the sinks write (header-only: both the standard stages
// and the CNN report use it, and neither library links the other's way).
#pragma once

#include <cstdio>
#include <string>

namespace pipeline {

// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
inline std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// A JSON string literal: quotes and backslashes escaped, control characters as \u00XX.
inline std::string JsonString(const std::string& text) {
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
