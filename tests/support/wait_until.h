// Waiting for a state in tests: tests wait on what the system under test says (a server's
// counters, a file appearing), never on sleeps, and the time limit is never what is tested.
//
//   ASSERT_TRUE(WaitUntil([&] { return QueueDepth(server) >= 20; }, absl::Seconds(60)))
//       << "the queue never filled";
//
// Calls `condition` on the calling thread only.
#ifndef GEOLOC_TESTS_SUPPORT_WAIT_UNTIL_H_
#define GEOLOC_TESTS_SUPPORT_WAIT_UNTIL_H_

#include <functional>

#include "absl/time/time.h"

namespace geoloc::testing {

// Polls `condition` every 20 ms until it holds (true) or `timeout` passes (false).
bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout);

}  // namespace geoloc::testing

#endif  // GEOLOC_TESTS_SUPPORT_WAIT_UNTIL_H_
