#include "pipeline/engine/text_limits.h"

#include <cstdio>

#include "pipeline/utf8.h"

namespace pipeline {
namespace {

bool IsOctal(char c) { return c >= '0' && c <= '7'; }
bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexValue(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

// Walks the text keeping line and column (1-based, in bytes, as the other diagnostics count).
class Scanner {
 public:
  Scanner(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  std::vector<Diagnostic> Run() {
    int depth = 0;
    size_t offset = 0;
    while (offset < text_.size()) {
      const char c = text_[offset];
      if (c == '#') {
        while (offset < text_.size() && text_[offset] != '\n') ++offset;
      } else if (c == '"' || c == '\'') {
        offset = String(offset);
      } else {
        if (c == '{' || c == '<') {
          if (++depth > kMaxTextNesting) {
            Report(offset, "blocks nested more than " + std::to_string(kMaxTextNesting) +
                               " deep ({ } or < > inside each other); refusing to parse further");
            return std::move(errors_);
          }
        } else if ((c == '}' || c == '>') && depth > 0) {
          --depth;
        }
        ++offset;
      }
    }
    return std::move(errors_);
  }

 private:
  // Decodes the literal starting at `offset` (as protobuf's tokenizer does: it ends at the
  // matching quote or at the end of the line) and checks that its bytes are UTF-8. Returns the
  // offset just past it.
  size_t String(size_t offset) {
    const char quote = text_[offset++];
    std::string bytes;
    std::vector<size_t> origin;  // where each decoded byte was written
    while (offset < text_.size() && text_[offset] != quote && text_[offset] != '\n') {
      const size_t start = offset;
      if (text_[offset] != '\\' || offset + 1 >= text_.size()) {
        bytes += text_[offset++];
        origin.push_back(start);
        continue;
      }
      ++offset;  // the backslash
      int value = 0;
      if (text_[offset] == 'x' || text_[offset] == 'X') {
        ++offset;
        for (int i = 0; i < 2 && offset < text_.size() && IsHex(text_[offset]); ++i) {
          value = value * 16 + HexValue(text_[offset++]);
        }
      } else if (IsOctal(text_[offset])) {
        for (int i = 0; i < 3 && offset < text_.size() && IsOctal(text_[offset]); ++i) {
          value = value * 8 + (text_[offset++] - '0');
        }
      } else {
        // \n, \", \u00e9 ...: these decode to ASCII or to valid UTF-8; what matters here is
        // only that they are not raw bytes.
        value = 'x';
        ++offset;
      }
      bytes += static_cast<char>(value & 0xFF);
      origin.push_back(start);
    }
    const size_t bad = FirstInvalidUtf8(bytes);
    if (bad != std::string::npos) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02X", static_cast<unsigned char>(bytes[bad]));
      Report(origin[bad], std::string("a string that is not UTF-8 (byte ") + hex +
                              "): names and values must be UTF-8 text");
    }
    return offset < text_.size() ? offset + 1 : offset;
  }

  // Reports come in increasing offsets, so the line count goes on from the previous one.
  void Report(size_t offset, std::string message) {
    for (; counted_ < offset; ++counted_) {
      if (text_[counted_] == '\n') {
        ++line_;
        line_start_ = counted_ + 1;
      }
    }
    errors_.push_back(
        {file_, line_, static_cast<int>(offset - line_start_) + 1, "", std::move(message)});
  }

  std::string_view text_;
  const std::string& file_;
  std::vector<Diagnostic> errors_;
  size_t counted_ = 0;  // lines are counted up to here
  int line_ = 1;
  size_t line_start_ = 0;
};

}  // namespace

std::vector<Diagnostic> CheckProtoTextLimits(std::string_view text, const std::string& file) {
  return Scanner(text, file).Run();
}

}  // namespace pipeline
