// Clocks, timed loops and the median of repeated runs.
#ifndef MEMBIO_BENCH_MEASURE_HPP
#define MEMBIO_BENCH_MEASURE_HPP

#include <time.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace membio::bench {

/// Which clock the timed loops read.
enum class Clock {
  /// CPU time of this thread: on a machine busy with other work, time spent
  /// waiting for a core is left out, so figures stay comparable. Every
  /// workload here only computes and never waits, so on an idle machine it
  /// matches the wall clock.
  thread_cpu,

  /// Elapsed (monotonic) time.
  wall,
};

inline Clock& clock_in_use() {
  static Clock clock = Clock::thread_cpu;
  return clock;
}

/// Seconds on the clock in use, from an arbitrary start.
inline double now_seconds() {
  timespec time{};
  clock_gettime(clock_in_use() == Clock::thread_cpu ? CLOCK_THREAD_CPUTIME_ID
                                                    : CLOCK_MONOTONIC,
                &time);
  return static_cast<double>(time.tv_sec) +
         static_cast<double>(time.tv_nsec) * 1e-9;
}

/// Runs `batch`, which does `units_per_batch` units of work, until at least
/// `seconds` have passed, and returns units per second. A batch should take
/// well over a microsecond, so that reading the clock costs nothing.
template <class Batch>
double units_per_second(Batch&& batch, double units_per_batch, double seconds) {
  const double start = now_seconds();
  double units = 0;
  double elapsed = 0;

  do {
    batch();
    units += units_per_batch;
    elapsed = now_seconds() - start;
  } while (elapsed < seconds);
  return units / elapsed;
}

/// The median of repeated runs, with their extremes.
struct Summary {
  double median = 0;
  double min = 0;
  double max = 0;
};

/// Summarizes a non-empty set of runs; an even count takes the mean of
/// the middle two.
inline Summary summarize(std::vector<double> runs) {
  std::sort(runs.begin(), runs.end());
  const std::size_t middle = runs.size() / 2;
  const double median =
      runs.size() % 2 ? runs[middle] : (runs[middle - 1] + runs[middle]) / 2;
  return {median, runs.front(), runs.back()};
}

}  // namespace membio::bench

#endif  // MEMBIO_BENCH_MEASURE_HPP
