// membio_bench: membio against raw OpenSSL and GnuTLS on the same
// workloads, in one run. Prints a table of medians with min and max over
// repeated runs, membio's ratio to each baseline, and the targets of issue 5
// as PASS or SHORT lines; --csv writes the figures for plot.sh.
//
//   membio_bench [--repetitions N] [--seconds S] [--channels N] [--wall]
//                [--only WORD,...] [--implementations NAME,...]
//                [--csv FILE] [--quick]
#include <gnutls/gnutls.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gnutls_peer.hpp"
#include "heap.hpp"
#include "measure.hpp"
#include "membio_peer.hpp"
#include "openssl_peer.hpp"
#include "report.hpp"
#include "scenario.hpp"
#include "workloads.hpp"

namespace membio::bench {
namespace {

struct Options {
  // Nine runs each: on a shared two-core machine single runs stray by a
  // fifth or more, and a median needs enough runs to stand on.
  int repetitions = 9;
  int memory_repetitions = 3;
  double seconds = 0.3;
  std::size_t channels = 10000;
  std::vector<std::string> only;
  std::vector<std::string> implementations;
  std::string csv_path;
};

[[noreturn]] void usage() {
  std::fprintf(
      stderr,
      "usage: membio_bench [options]\n"
      "  --repetitions N  runs of each figure, interleaved (default 9;\n"
      "                   memory takes at most 3)\n"
      "  --seconds S      CPU seconds of each timed run (default 0.3)\n"
      "  --channels N     idle channels alive at once (default 10000)\n"
      "  --wall           time with the wall clock, not this thread's CPU\n"
      "  --only W1,W2     only workloads whose name has one of the words:\n"
      "                   full, resumed, restore, bulk, small, memory,\n"
      "                   allocations\n"
      "  --implementations I1,I2  only these: membio, membio-zero-copy,\n"
      "                   openssl, gnutls (to profile one)\n"
      "  --csv FILE       also write every figure to FILE (for plot.sh)\n"
      "  --quick          a fast smoke run: 3 repetitions, short and few\n");
  std::exit(2);
}

std::vector<std::string> split_words(const std::string& list) {
  std::vector<std::string> words;
  std::stringstream stream(list);
  for (std::string word; std::getline(stream, word, ',');) {
    if (!word.empty()) words.push_back(word);
  }
  return words;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string option = argv[i];
    const bool has_value = i + 1 < argc;
    if (option == "--repetitions" && has_value) {
      options.repetitions = std::max(1, std::atoi(argv[++i]));
      options.memory_repetitions =
          std::min(options.memory_repetitions, options.repetitions);
    } else if (option == "--seconds" && has_value) {
      options.seconds = std::atof(argv[++i]);
    } else if (option == "--channels" && has_value) {
      options.channels = std::max(1L, std::atol(argv[++i]));
    } else if (option == "--wall") {
      clock_in_use() = Clock::wall;
    } else if (option == "--only" && has_value) {
      options.only = split_words(argv[++i]);
    } else if (option == "--implementations" && has_value) {
      options.implementations = split_words(argv[++i]);
    } else if (option == "--csv" && has_value) {
      options.csv_path = argv[++i];
    } else if (option == "--quick") {
      options.repetitions = options.memory_repetitions = 3;
      options.seconds = 0.05;
      options.channels = 500;
    } else {
      usage();
    }
  }
  return options;
}

/// One implementation's way to produce a figure, or why it has none.
struct Variant {
  std::string implementation;
  std::function<double()> run;
  std::string missing;
};

/// A group to measure: its description, how to set up its variants, and
/// how many runs each gets.
struct Plan {
  Group group;
  std::function<std::vector<Variant>()> prepare;
  int repetitions = 0;
};

Group describe(std::string workload, std::string title, std::string unit,
               std::string cipher = "", std::size_t write_size = 0) {
  Group group;
  group.workload = std::move(workload);
  group.title = std::move(title);
  group.unit = std::move(unit);
  group.cipher = std::move(cipher);
  group.write_size = write_size;
  return group;
}

/// Makes a side and checks it, untimed, before it is measured.
template <class Side, class... Extra>
std::shared_ptr<Side> checked_side(const Scenario& scenario,
                                   const std::string& name,
                                   std::size_t write_size, Extra... extra) {
  auto side = std::make_shared<Side>(scenario, extra...);
  check_side(*side, scenario, name, write_size);
  return side;
}

template <class Side, class Measure>
Variant variant(std::string implementation, std::shared_ptr<Side> side,
                Measure measure) {
  return {std::move(implementation), [side, measure] { return measure(*side); },
          ""};
}

/// membio (copying, and zero-copy too when `zero_copy`), raw OpenSSL
/// and GnuTLS, each measured by `measure(side)`; then raw OpenSSL with
/// SSL_MODE_RELEASE_BUFFERS.
template <class Measure>
std::vector<Variant> every_implementation(const Scenario& scenario,
                                          std::size_t write_size,
                                          bool zero_copy, Measure measure) {
  std::vector<Variant> variants;
  variants.push_back(
      variant("membio",
              checked_side<MembioSide>(scenario, "membio", write_size,
                                       Transfer::copying),
              measure));
  if (zero_copy) {
    variants.push_back(
        variant("membio-zero-copy",
                checked_side<MembioSide>(scenario, "membio zero-copy",
                                         write_size, Transfer::zero_copy),
                measure));
  }
  variants.push_back(variant(
      "openssl", checked_side<OpensslSide>(scenario, "raw OpenSSL", write_size),
      measure));
  variants.push_back(variant(
      "gnutls", checked_side<GnutlsSide>(scenario, "GnuTLS", write_size),
      measure));

  // Not a column of the table: raw OpenSSL with the buffer mode membio
  // sets, which tells membio's own cost from that mode's.
  variants.push_back(
      variant("openssl-release-buffers",
              checked_side<OpensslSide>(
                  scenario, "raw OpenSSL releasing buffers", write_size, true),
              measure));
  return variants;
}

std::string key_name(KeyType key_type) {
  return key_type == KeyType::rsa_2048 ? "RSA-2048" : "ECDSA P-256";
}

void add_handshake_plans(std::vector<Plan>& plans, const Options& options) {
  const double seconds = options.seconds;
  const auto full = [seconds](auto& side) {
    return full_handshakes_per_second(side, seconds);
  };

  const Scenario tls13_ecdsa{Version::tls1_3, KeyType::ec_p256};
  const Scenario tls13_rsa{Version::tls1_3, KeyType::rsa_2048};
  const Scenario tls12{Version::tls1_2, KeyType::ec_p256};
  for (const Scenario& scenario : {tls13_ecdsa, tls13_rsa}) {
    plans.push_back(
        {describe(
             "full handshake",
             "full handshake, TLS 1.3 X25519, " + key_name(scenario.key_type),
             "handshakes/s"),
         [=] { return every_implementation(scenario, 1024, false, full); },
         options.repetitions});
  }
  plans.push_back(
      {describe("full handshake",
                "full handshake, TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256",
                "handshakes/s"),
       [=] { return every_implementation(tls12, 1024, false, full); },
       options.repetitions});

  const auto resumed = [seconds](auto& side) {
    return resumed_handshakes_per_second(side, seconds);
  };
  plans.push_back(
      {describe("resumed handshake",
                "resumed handshake, TLS 1.3 ticket, X25519, ECDSA P-256",
                "handshakes/s"),
       [=] { return every_implementation(tls13_ecdsa, 1024, false, resumed); },
       options.repetitions});

  const auto restore = [](auto& side) {
    return session_restore_microseconds(side);
  };
  Group restore_group =
      describe("session restore",
               "of which: offering the saved session, per resumption", "us");
  restore_group.compared = false;
  plans.push_back(
      {restore_group,
       [=] { return every_implementation(tls13_ecdsa, 1024, false, restore); },
       options.repetitions});
}

void add_stream_plans(std::vector<Plan>& plans, const Options& options) {
  const double seconds = options.seconds;
  for (const Cipher cipher :
       {Cipher::aes_128_gcm, Cipher::aes_256_gcm, Cipher::chacha20_poly1305}) {
    for (const std::size_t size : {64, 1024, 16384}) {
      const Scenario scenario{Version::tls1_3, KeyType::ec_p256, cipher};
      const auto bulk = [seconds, size](auto& side) {
        return bulk_megabytes_per_second(side, size, seconds);
      };
      const std::string size_name = size >= 1024
                                        ? std::to_string(size / 1024) + " KiB"
                                        : std::to_string(size) + " B";
      plans.push_back(
          {describe("bulk",
                    std::string("bulk, ") + cipher_name(cipher) + ", " +
                        size_name + " writes",
                    "MB/s", cipher_name(cipher), size),
           [=] { return every_implementation(scenario, size, true, bulk); },
           options.repetitions});
    }
  }

  const auto small = [seconds](auto& side) {
    return small_messages_megabytes_per_second(side, seconds);
  };
  plans.push_back(
      {describe("small messages",
                "small messages, 256 x 64 B writes per drain, AES-128-GCM",
                "MB/s", "AES-128-GCM", small_message_size),
       [=] {
         return every_implementation(Scenario{}, small_message_size, true,
                                     small);
       },
       options.repetitions});
}

void add_memory_plan(std::vector<Plan>& plans, const Options& options) {
  const std::size_t channels = options.channels;
  const auto memory = [channels](auto& side) {
    return idle_kib_per_channel(side, channels);
  };
  const auto prepare = [=] {
    const Scenario scenario;
    std::vector<Variant> variants =
        every_implementation(scenario, 1024, false, memory);

    // The target is stated against raw OpenSSL releasing its buffers, so
    // here that is the table's column, and the demo's way the extra.
    const auto find = [&variants](const char* implementation) {
      return std::find_if(variants.begin(), variants.end(),
                          [&](const Variant& each) {
                            return each.implementation == implementation;
                          });
    };
    const auto released = find("openssl-release-buffers");
    std::swap(find("openssl")->run, released->run);
    released->implementation = "openssl-keep-buffers";
    return variants;
  };

  plans.push_back({describe("idle memory",
                            "idle channel memory, " + std::to_string(channels) +
                                " server channels alive, TLS 1.3",
                            "KiB/channel"),
                   prepare, options.memory_repetitions});
}

void add_allocation_plan(std::vector<Plan>& plans, const Options& options) {
  const auto count = [](auto& side) { return allocations_per_handshake(side); };
  const auto prepare = [=] {
    std::vector<Variant> variants =
        every_implementation(Scenario{}, 1024, false, count);
    const bool openssl_counted = counts_allocations_of(
        [](std::size_t size) { return OPENSSL_malloc(size); },
        [](void* block) { OPENSSL_free(block); });
    const bool gnutls_counted =
        counts_allocations_of(gnutls_malloc, gnutls_free);

    for (Variant& each : variants) {
      const bool counted =
          each.implementation == "gnutls" ? gnutls_counted : openssl_counted;
      if (counted) continue;
      each.run = nullptr;
      each.missing = "its allocations do not reach the counting malloc";
    }
    return variants;
  };

  plans.push_back({describe("allocations",
                            "heap allocations per full handshake (both "
                            "sides), TLS 1.3 X25519, ECDSA P-256",
                            "allocations"),
                   prepare, options.repetitions});
}

bool wanted(const Options& options, const Group& group) {
  if (options.only.empty()) return true;
  const std::string name = group.workload + " " + group.title;
  for (const std::string& word : options.only) {
    if (name.find(word) != std::string::npos) return true;
  }
  return false;
}

bool wanted(const Options& options, const Variant& variant) {
  const std::vector<std::string>& names = options.implementations;
  return names.empty() || std::find(names.begin(), names.end(),
                                    variant.implementation) != names.end();
}

/// Runs every variant of a plan `repetitions` times, interleaved, so that
/// a change in the machine's load touches all of them alike.
Group run_plan(const Plan& plan, const Options& options) {
  std::fprintf(stderr, "membio_bench: %s\n", plan.group.title.c_str());
  Group group = plan.group;
  std::vector<Variant> variants = plan.prepare();
  for (Variant& each : variants) {
    if (!wanted(options, each)) {
      each.run = nullptr;
      each.missing = "not asked for (--implementations)";
    }
    group.figures.push_back({each.implementation, {}, each.missing});
  }

  for (int run = 0; run < plan.repetitions; ++run) {
    for (std::size_t i = 0; i < variants.size(); ++i) {
      if (variants[i].run) group.figures[i].runs.push_back(variants[i].run());
    }
  }
  return group;
}

std::string first_line_of(const char* path, const std::string& prefix) {
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const std::size_t colon = line.find(':');
    return colon == std::string::npos ? line : line.substr(colon + 2);
  }
  return "unknown";
}

std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

void print_header(const Options& options) {
  std::printf("membio_bench, membio %d.%d.%d, %s build\n", version_major,
              version_minor, version_patch, MEMBIO_BENCH_BUILD_TYPE);
  std::printf("machine: %ld CPUs, %s\n", sysconf(_SC_NPROCESSORS_ONLN),
              first_line_of("/proc/cpuinfo", "model name").c_str());
  std::printf("libraries: %s, GnuTLS %s\n", OpenSSL_version(OPENSSL_VERSION),
              gnutls_check_version(nullptr));
  std::printf("load average at start: %s\n", load_average().c_str());
  std::printf("clock: %s; median (min-max) of %d runs, %d for memory\n",
              clock_in_use() == Clock::thread_cpu ? "this thread's CPU time"
                                                  : "wall time",
              options.repetitions, options.memory_repetitions);
  std::printf("\n");
}

void print_notes() {
  std::printf(
      "\nNotes:\n"
      "- Handshakes: both connections made, handshaken and freed in this\n"
      "  thread; the client verifies the chain and the name, then reads the\n"
      "  server's session tickets.\n"
      "- Bulk and small messages: one way, client to server, MB = 10^6 B of\n"
      "  plaintext. The copying paths copy ciphertext twice on the way (out\n"
      "  of the sender, into the receiver); zero-copy once. GnuTLS corks the\n"
      "  256 small writes (gnutls_record_cork), its own coalescing.\n"
      "- Raw OpenSSL is the demo's code, which keeps its record buffers,\n"
      "  except in the idle-memory line: the target there is raw OpenSSL\n"
      "  with SSL_MODE_RELEASE_BUFFERS, which membio sets.\n"
      "- Idle memory: heap in use (glibc mallinfo2) held by each server\n"
      "  connection after its client went away, channel buffers included.\n"
      "- Allocations: malloc, calloc, realloc and aligned calls from every\n"
      "  library, counted by the program's own malloc.\n");
}

const char* configuration_name(const std::string& implementation) {
  if (implementation == "openssl-release-buffers") {
    return "raw OpenSSL with SSL_MODE_RELEASE_BUFFERS, as membio sets it";
  }
  if (implementation == "openssl-keep-buffers") {
    return "raw OpenSSL without SSL_MODE_RELEASE_BUFFERS, as the demo";
  }
  return nullptr;
}

/// Figures of configurations that are not columns of the table.
void print_other_configurations(const std::vector<Group>& groups) {
  std::printf("\nOther configurations in this run (membio / them):\n");
  for (const Group& group : groups) {
    for (const Figures& each : group.figures) {
      const char* name = configuration_name(each.implementation);
      const std::optional<Summary> summary = each.summary();
      if (!name || !summary) continue;

      const std::string ratio =
          group.compared
              ? " (" + format_ratio(group.summary("membio"), summary) + ")"
              : "";
      std::printf("- %s: %s: %s %s%s\n", group.title.c_str(), name,
                  format_number(summary->median).c_str(), group.unit.c_str(),
                  ratio.c_str());
    }
  }
}

int run(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  print_header(options);

  std::vector<Plan> plans;
  add_handshake_plans(plans, options);
  add_stream_plans(plans, options);
  add_memory_plan(plans, options);
  add_allocation_plan(plans, options);

  std::vector<Group> groups;
  for (const Plan& plan : plans) {
    if (wanted(options, plan.group)) groups.push_back(run_plan(plan, options));
  }

  print_table(groups);
  print_notes();
  print_other_configurations(groups);
  std::printf("\nTargets (issue 5):\n");
  print_targets(groups);
  std::printf("\nload average at end: %s\n", load_average().c_str());

  if (!options.csv_path.empty()) write_csv(groups, options.csv_path);
  return 0;
}

}  // namespace
}  // namespace membio::bench

int main(int argc, char** argv) {
  try {
    return membio::bench::run(argc, argv);
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "membio_bench: %s\n", failure.what());
    return 1;
  }
}
