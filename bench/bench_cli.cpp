#include "bench_cli.h"

#include <algorithm>
#include <iostream>

namespace pipeline::bench {

std::optional<int> ParseCommandLine(int argc, const char* const* argv, const std::string& program,
                                    const std::string& usage, po::options_description& options) {
  options.add_options()("help,h", "show this help");
  // None: a stray word on the command line is an error rather than silently ignored.
  const po::positional_options_description no_positional;
  // Prefix guessing would let "--s" mean whichever option happens to be the only match today.
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  try {
    po::variables_map values;
    po::store(po::command_line_parser(argc, argv)
                  .options(options)
                  .positional(no_positional)
                  .style(style)
                  .run(),
              values);
    // Before notify(): --help must work even beside a value a check would refuse.
    if (values.count("help") > 0) {
      std::cout << "usage: " << usage << "\n\n" << options;
      return 0;
    }
    po::notify(values);
  } catch (const po::error& error) {
    std::cerr << program << ": " << error.what() << " (see " << program << " --help)\n";
    return 2;
  }
  return std::nullopt;
}

std::optional<int> ParseCommandLine(int argc, const char* const* argv, const std::string& program,
                                    const std::string& usage,
                                    const std::function<void(OptionAdder&)>& declare) {
  po::options_description options("options", kHelpColumns, kHelpDescriptionColumns);
  OptionAdder add = options.add_options();
  declare(add);
  return ParseCommandLine(argc, argv, program, usage, options);
}

po::typed_value<int>* IntAtLeast(int* target, int minimum, const std::string& name) {
  return Defaulted(target)->notifier([minimum, name](int value) {
    if (value < minimum) {
      throw po::error("--" + name + " must be at least " + std::to_string(minimum) + ", got " +
                      std::to_string(value));
    }
  });
}

po::typed_value<std::string>* OneOf(std::string* target, std::initializer_list<const char*> choices,
                                    const std::string& name) {
  std::vector<std::string> allowed(choices.begin(), choices.end());
  return Defaulted(target)->notifier(
      [allowed = std::move(allowed), name](const std::string& value) {
        if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
        std::string list;
        for (const std::string& choice : allowed) list += (list.empty() ? "" : ", ") + choice;
        throw po::error("--" + name + " must be one of " + list + ", got \"" + value + "\"");
      });
}

}  // namespace pipeline::bench
