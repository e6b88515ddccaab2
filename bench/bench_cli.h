// The benchmarks' command lines: Boost.Program_options with the same --help and error handling in
// every program, and value checks that name the option they refuse.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace pipeline::bench {

namespace po = boost::program_options;
using OptionAdder = po::options_description_easy_init;

// --help's layout: 100 columns, descriptions from column 50 at the latest.
inline constexpr unsigned kHelpColumns = 100;
inline constexpr unsigned kHelpDescriptionColumns = 50;

// Parses argv into the targets `options` stores to, after adding --help/-h. Long option names
// must be spelled in full (no prefix guessing). Returns the exit code when the program should
// stop: 0 after printing `usage` and the options for --help, 2 after printing "program: error"
// and a pointer to --help on stderr for an unknown option, a missing or malformed value, or a
// value a check refused. nullopt: carry on.
std::optional<int> ParseCommandLine(int argc, const char* const* argv, const std::string& program,
                                    const std::string& usage, po::options_description& options);

// The same for one table of options, which `declare` fills.
std::optional<int> ParseCommandLine(int argc, const char* const* argv, const std::string& program,
                                    const std::string& usage,
                                    const std::function<void(OptionAdder&)>& declare);

// An option stored in `target`, its current value shown as the default.
template <typename T>
po::typed_value<T>* Defaulted(T* target) {
  return po::value(target)->default_value(*target);
}

// An int option stored in `target`, its current value shown as the default, refusing values below
// `minimum` ("--`name` must be at least ...").
po::typed_value<int>* IntAtLeast(int* target, int minimum, const std::string& name);

// A string option stored in `target`, its current value shown as the default, refusing any value
// not among `choices`.
po::typed_value<std::string>* OneOf(std::string* target, std::initializer_list<const char*> choices,
                                    const std::string& name);

}  // namespace pipeline::bench
