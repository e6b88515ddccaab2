#include "pipeline/proto_text_limits.h"

#include <stdexcept>
#include <vector>

#include "pipeline/engine/text_limits.h"

namespace pipeline {

void RequireProtoTextWithinLimits(std::string_view text, const std::string& file) {
  const std::vector<Diagnostic> problems = CheckProtoTextLimits(text, file);
  if (!problems.empty()) throw std::runtime_error(problems.front().format());
}

}  // namespace pipeline
