// What a run found: figures grouped by workload, printed as a table with
// membio's ratio to each baseline, checked against the targets of issue 5,
// and written to a CSV file for plotting.
#ifndef MEMBIO_BENCH_REPORT_HPP
#define MEMBIO_BENCH_REPORT_HPP

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "measure.hpp"

namespace membio::bench {

/// The repeated runs of one implementation on one workload.
struct Figures {
  /// "membio", "membio-zero-copy", "openssl", "gnutls", or a configuration
  /// outside the table ("openssl-release-buffers",
  /// "openssl-keep-buffers").
  std::string implementation;
  std::vector<double> runs;

  /// Why there are no runs, when there are none.
  std::string missing;

  std::optional<Summary> summary() const {
    if (runs.empty()) return std::nullopt;
    return summarize(runs);
  }
};

/// One workload measured on every implementation, interleaved.
struct Group {
  /// "full handshake", "resumed handshake", "session restore", "bulk",
  /// "small messages", "idle memory" or "allocations".
  std::string workload;
  std::string title;  // The line's name in the table.
  std::string unit;
  std::string cipher;  // Bulk only, like the write size.
  std::size_t write_size = 0;

  /// False for a line that explains another and has no ratio worth taking:
  /// a baseline's figure there is near zero.
  bool compared = true;
  std::vector<Figures> figures;

  const Figures* find(std::string_view implementation) const {
    for (const Figures& each : figures) {
      if (each.implementation == implementation) return &each;
    }
    return nullptr;
  }

  std::optional<Summary> summary(std::string_view implementation) const {
    const Figures* each = find(implementation);
    return each ? each->summary() : std::nullopt;
  }
};

/// A figure with three significant digits or so, no exponent.
inline std::string format_number(double value) {
  const int decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

/// "median (min-max)", or why the figure is missing.
inline std::string format_cell(const Group& group,
                               std::string_view implementation) {
  const Figures* each = group.find(implementation);
  if (!each) return "";
  const std::optional<Summary> summary = each->summary();
  if (!summary) return "n/a";
  return format_number(summary->median) + " (" + format_number(summary->min) +
         "-" + format_number(summary->max) + ")";
}

inline std::string format_ratio(const std::optional<Summary>& membio,
                                const std::optional<Summary>& baseline) {
  // A baseline whose runs reach zero (a difference lost in the noise)
  // gives no meaningful ratio.
  if (!membio || !baseline || baseline->min <= 0) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", membio->median / baseline->median);
  return text;
}

/// One table line per membio path measured in a group.
struct Line {
  std::vector<std::string> cells;
};

inline std::vector<Line> table_lines(const std::vector<Group>& groups) {
  std::vector<Line> lines;
  for (const Group& group : groups) {
    const bool two_paths = group.find("membio-zero-copy") != nullptr;
    for (const char* path : {"membio", "membio-zero-copy"}) {
      if (!group.find(path)) continue;

      std::string title = group.title;
      if (two_paths)
        title +=
            path == std::string_view("membio") ? ", copying" : ", zero-copy";
      const auto ratio = [&](const char* baseline) {
        return group.compared
                   ? format_ratio(group.summary(path), group.summary(baseline))
                   : std::string("-");
      };
      lines.push_back(
          {{title, group.unit, format_cell(group, path),
            format_cell(group, "openssl"), format_cell(group, "gnutls"),
            ratio("openssl"), ratio("gnutls")}});
    }
  }
  return lines;
}

/// Prints the table as Markdown with padded columns, readable as it is and
/// ready for the README.
inline void print_table(const std::vector<Group>& groups) {
  std::vector<Line> lines = table_lines(groups);
  lines.insert(lines.begin(),
               Line{{"workload", "unit", "membio", "raw OpenSSL", "GnuTLS",
                     "membio / raw", "membio / GnuTLS"}});

  std::vector<std::size_t> widths(lines.front().cells.size(), 0);
  for (const Line& line : lines) {
    for (std::size_t i = 0; i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], line.cells[i].size());
    }
  }

  for (std::size_t row = 0; row < lines.size(); ++row) {
    for (std::size_t i = 0; i < widths.size(); ++i) {
      std::printf("| %-*s ", static_cast<int>(widths[i]),
                  lines[row].cells[i].c_str());
    }
    std::printf("|\n");
    if (row != 0) continue;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      std::printf("|%s", std::string(widths[i] + 2, '-').c_str());
    }
    std::printf("|\n");
  }
}

/// Prints one target's verdict; never stops the run.
inline void print_verdict(bool pass, const std::string& what,
                          const std::string& detail) {
  std::printf("%-5s  %s: %s\n", pass ? "PASS" : "SHORT", what.c_str(),
              detail.c_str());
}

/// membio at least `minimum` times the baseline.
inline void check_ratio(const Group& group, const char* path,
                        const char* baseline, const char* baseline_name,
                        double minimum, bool strictly, std::string what) {
  const std::optional<Summary> membio = group.summary(path);
  const std::optional<Summary> base = group.summary(baseline);
  if (!membio || !base) {
    print_verdict(false, what, "not measured in this build");
    return;
  }

  const double ratio = membio->median / base->median;
  const bool pass = strictly ? ratio > minimum : ratio >= minimum;
  char detail[160];
  std::snprintf(detail, sizeof detail, "%.2fx %s (target %s %.2fx)", ratio,
                baseline_name, strictly ? ">" : ">=", minimum);
  std::string text = detail;
  if (!pass) {
    std::snprintf(detail, sizeof detail, "; %.1f %% short",
                  (minimum / ratio - 1) * 100);
    text += detail;
  }
  print_verdict(pass, what, text);
}

/// membio at most `slack` above the baseline, in the group's unit.
inline void check_excess(const Group& group, double slack, std::string what) {
  const std::optional<Summary> membio = group.summary("membio");
  const std::optional<Summary> base = group.summary("openssl");
  if (!membio || !base) {
    print_verdict(false, what, "not measured in this build");
    return;
  }

  const double excess = membio->median - base->median;
  char detail[200];
  std::snprintf(detail, sizeof detail,
                "%s %s vs raw OpenSSL %s, %+.2f (target <= +%s), %.2fx",
                format_number(membio->median).c_str(), group.unit.c_str(),
                format_number(base->median).c_str(), excess,
                format_number(slack).c_str(), membio->median / base->median);
  std::string text = detail;
  if (excess > slack) {
    std::snprintf(detail, sizeof detail, "; %.2f over", excess - slack);
    text += detail;
  }
  print_verdict(excess <= slack, what, text);
}

/// Checks the targets of issue 5, point 5, on what was measured.
inline void print_targets(const std::vector<Group>& groups) {
  for (const Group& group : groups) {
    const std::string& name = group.title;
    if (group.workload == "full handshake" ||
        group.workload == "resumed handshake") {
      check_ratio(group, "membio", "openssl", "raw OpenSSL", 0.98, false, name);
    } else if (group.workload == "bulk" && group.write_size == 16384) {
      check_ratio(group, "membio", "openssl", "raw OpenSSL", 1.0, false,
                  name + ", copying");
      check_ratio(group, "membio-zero-copy", "openssl", "raw OpenSSL", 1.10,
                  false, name + ", zero-copy");
    } else if (group.workload == "small messages") {
      check_ratio(group, "membio", "openssl", "raw OpenSSL", 4.0, false, name);
      check_ratio(group, "membio", "gnutls", "GnuTLS", 1.0, true, name);
    } else if (group.workload == "idle memory") {
      check_excess(group, 1.0, name + " (raw with SSL_MODE_RELEASE_BUFFERS)");
    } else if (group.workload == "allocations") {
      check_excess(group, 5.0, name);
    }
  }
}

inline std::string csv_field(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

/// One row per group and implementation, for plot.sh and for anyone else.
inline void write_csv(const std::vector<Group>& groups,
                      const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << "workload,title,unit,cipher,write_size,implementation,"
         "median,min,max,repetitions,missing\n";

  for (const Group& group : groups) {
    for (const Figures& each : group.figures) {
      const std::optional<Summary> summary = each.summary();
      out << csv_field(group.workload) << ',' << csv_field(group.title) << ','
          << csv_field(group.unit) << ',' << csv_field(group.cipher) << ','
          << group.write_size << ',' << csv_field(each.implementation) << ','
          << (summary ? std::to_string(summary->median) : "") << ','
          << (summary ? std::to_string(summary->min) : "") << ','
          << (summary ? std::to_string(summary->max) : "") << ','
          << each.runs.size() << ',' << csv_field(each.missing) << '\n';
    }
  }
}

}  // namespace membio::bench

#endif  // MEMBIO_BENCH_REPORT_HPP
