// UTF-8 checks for text that ends up in protobuf string fields (which must be valid UTF-8, or
// serialising them fails) or in JSON lines (which must be valid UTF-8 to parse).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pipeline {

// Offset of the first byte that does not start a valid UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF are invalid), or std::string_view::npos.
size_t FirstInvalidUtf8(std::string_view text);

inline bool IsValidUtf8(std::string_view text) {
  return FirstInvalidUtf8(text) == std::string_view::npos;
}

// `text` with each byte that is not part of a valid UTF-8 sequence replaced by U+FFFD, so that
// the result is always valid UTF-8 (and equals `text` when it already was).
std::string ReplaceInvalidUtf8(std::string_view text);

}  // namespace pipeline
