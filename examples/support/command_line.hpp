// The command-line handling the socket examples share: options with and
// without values, lists and numbers, and the exit status for a usage
// mistake.
#ifndef MEMBIO_EXAMPLES_SUPPORT_COMMAND_LINE_HPP
#define MEMBIO_EXAMPLES_SUPPORT_COMMAND_LINE_HPP

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

// A mistake on the command line, answered with the usage text.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The options a program knows: those taking a value name the string that
// receives it; the others, what setting them does.
struct OptionTable {
  std::map<std::string, std::string*> takes_value;
  std::map<std::string, std::function<void()>> flags;
};

// Applies every option in argv to `table` and returns the other arguments,
// in order.
inline std::vector<std::string> read_arguments(int argc, char** argv,
                                               const OptionTable& table) {
  std::vector<std::string> positional;

  for (int index = 1; index < argc; ++index) {
    const std::string arg = argv[index];
    const auto option = table.takes_value.find(arg);
    const auto flag = table.flags.find(arg);

    if (option != table.takes_value.end()) {
      if (index + 1 == argc) throw UsageError(arg + " needs a value");
      *option->second = argv[++index];
    } else if (flag != table.flags.end()) {
      flag->second();
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError("bad option " + arg);
    } else {
      positional.push_back(arg);
    }
  }
  return positional;
}

// The items of a comma-separated list, e.g. "h2,http/1.1".
inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;

  for (;;) {
    const std::size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// The whole number `text` holds, as the value of `option`.
inline unsigned long parse_count(const std::string& text,
                                 const std::string& option) {
  // stoul alone would also take leading spaces and a sign, and wrap "-1"
  // round to the largest count.
  const bool digits_only =
      !text.empty() && text.find_first_not_of("0123456789") == text.npos;
  if (!digits_only) throw UsageError(option + " needs a number");

  try {
    return std::stoul(text);
  } catch (const std::out_of_range&) {
    throw UsageError(option + " is too large");
  }
}

// The positive number of seconds `text` holds, as the value of `option`.
inline std::chrono::seconds parse_seconds(const std::string& text,
                                          const std::string& option) {
  const unsigned long seconds = parse_count(text, option);
  if (seconds == 0 || seconds > 86400) {
    throw UsageError(option + " needs a number of seconds from 1 to 86400");
  }
  return std::chrono::seconds(seconds);
}

// Runs `body`, the whole work of a program's main(), and returns the exit
// status the examples share: 0 once it returns; 2 after a UsageError,
// whose message goes to standard error with the usage text; 1 after any
// other exception, whose message goes there alone.
template <typename Body>
int run_program(const char* program, const char* usage, Body&& body) {
  try {
    body();
    return 0;
  } catch (const UsageError& failure) {
    std::fprintf(stderr, "%s: %s\n%s", program, failure.what(), usage);
    return 2;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "%s: %s\n", program, failure.what());
    return 1;
  }
}

}  // namespace examples

#endif  // MEMBIO_EXAMPLES_SUPPORT_COMMAND_LINE_HPP
