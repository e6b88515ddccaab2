#include "pipeline/engine/spelling.h"

#include <algorithm>
#include <cctype>

namespace pipeline {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> ClosestNames(std::string_view name,
                                      const std::vector<std::string>& candidates,
                                      size_t max_results) {
  // A third of the name's length (at least 2) catches typos without suggesting nonsense.
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& candidate : candidates) {
    const size_t distance = EditDistance(name, candidate);
    const bool contains = candidate.find(name) != std::string::npos && name.size() >= 3;
    if (distance <= limit || contains) scored.emplace_back(distance, candidate);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> result;
  for (size_t i = 0; i < scored.size() && i < max_results; ++i) result.push_back(scored[i].second);
  return result;
}

std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  const auto closest = ClosestNames(name, candidates);
  if (closest.empty()) return "";
  std::string text = " (did you mean ";
  for (size_t i = 0; i < closest.size(); ++i) {
    if (i > 0) text += (i + 1 == closest.size()) ? " or " : ", ";
    text += "\"" + closest[i] + "\"";
  }
  return text + "?)";
}

}  // namespace pipeline
