// "Did you mean" suggestions for misspelt names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pipeline {

size_t EditDistance(std::string_view a, std::string_view b);

// Candidates within a plausible typo distance of `name`, closest first.
std::vector<std::string> ClosestNames(std::string_view name,
                                      const std::vector<std::string>& candidates,
                                      size_t max_results = 3);

// " (did you mean \"a\" or \"b\"?)", or "" when nothing is close.
std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace pipeline
