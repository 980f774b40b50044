// Client::LocateStream against the fake server: every item answered once, bad items reported
// in-band while the stream goes on, the in-flight bound held, out-of-order answers matched.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/geoloc_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/fake_server.h"
#include "tests/client/test_util.h"

namespace geoloc::client {
namespace {

using ::geoloc::client::testing::FakeServer;
using ::geoloc::client::testing::FakeServerOptions;
using ::testing::ElementsAreArray;

std::unique_ptr<Client> ConnectTo(const FakeServer& server, std::string token = "test-token") {
  ClientOptions options;
  options.target = server.address();
  options.token = std::move(token);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// Items "item-0".."item-<n-1>" whose images are LATLON i 0, except `bad` (an undecodable one).
Client::StreamSource Items(int n, int bad = -1) {
  auto next = std::make_shared<int>(0);
  return [n, bad, next]() -> std::optional<v1::LocateStreamRequest> {
    if (*next >= n) return std::nullopt;
    const int i = (*next)++;
    v1::LocateStreamRequest item;
    item.set_item_id(absl::StrCat("item-", i));
    item.set_image(i == bad ? "BAD" : absl::StrCat("LATLON ", i, " 0"));
    return item;
  };
}

TEST(LocateStreamTest, ManyItemsWithOneBadItemAllAnswered) {
  std::unique_ptr<FakeServer> server = FakeServer::Start({});
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> client = ConnectTo(*server);
  std::map<std::string, v1::LocateStreamResponse> answers;
  int duplicates = 0;
  absl::StatusOr<StreamSummary> summary =
      client->LocateStream(Items(60, /*bad=*/17), [&](const v1::LocateStreamResponse& response) {
        if (!answers.emplace(response.item_id(), response).second) ++duplicates;
      });
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->sent, 60);
  EXPECT_EQ(summary->received, 60);
  EXPECT_EQ(summary->item_errors, 1);
  EXPECT_EQ(duplicates, 0);
  ASSERT_EQ(answers.size(), 60u);
  EXPECT_EQ(answers["item-17"].status().code(), 3);  // INVALID_ARGUMENT
  EXPECT_THAT(answers["item-17"].status().message(), ::testing::HasSubstr("cannot decode"));
  for (int i : {0, 16, 18, 59}) {
    const v1::LocateStreamResponse& answer = answers[absl::StrCat("item-", i)];
    EXPECT_EQ(answer.status().code(), 0);
    EXPECT_DOUBLE_EQ(answer.result().best().location().latitude(), i);
  }
}

TEST(LocateStreamTest, NeverExceedsMaxInFlight) {
  // The fake answers only once it holds 3 unanswered items: a client that kept fewer in flight
  // would deadlock (and hit the deadline), one that kept more would show a higher maximum.
  FakeServerOptions fake;
  fake.stream_batch = 3;
  std::unique_ptr<FakeServer> server = FakeServer::Start(fake);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> client = ConnectTo(*server);
  StreamOptions options;
  options.max_in_flight = 3;
  options.deadline = absl::Seconds(60);
  absl::StatusOr<StreamSummary> summary = client->LocateStream(
      Items(40), [](const v1::LocateStreamResponse&) {}, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->received, 40);
  EXPECT_EQ(server->max_stream_outstanding(), 3);
}

TEST(LocateStreamTest, OutOfOrderAnswersAreDeliveredAsTheyArrive) {
  FakeServerOptions fake;
  fake.stream_batch = 4;  // answers each group of 4 in reverse
  std::unique_ptr<FakeServer> server = FakeServer::Start(fake);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> client = ConnectTo(*server);
  StreamOptions options;
  options.max_in_flight = 4;
  std::vector<std::string> order;
  absl::StatusOr<StreamSummary> summary = client->LocateStream(
      Items(10), [&](const v1::LocateStreamResponse& r) { order.push_back(r.item_id()); }, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_THAT(order, ElementsAreArray({"item-3", "item-2", "item-1", "item-0", "item-7", "item-6",
                                       "item-5", "item-4", "item-9", "item-8"}));
}

TEST(LocateStreamTest, StreamDeadlineEndsAStalledStream) {
  // The fake waits for 3 items, the client allows 2 in flight: nothing moves until the deadline.
  FakeServerOptions fake;
  fake.stream_batch = 3;
  std::unique_ptr<FakeServer> server = FakeServer::Start(fake);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> client = ConnectTo(*server);
  StreamOptions options;
  options.max_in_flight = 2;
  options.deadline = absl::Milliseconds(300);
  absl::StatusOr<StreamSummary> summary = client->LocateStream(
      Items(10), [](const v1::LocateStreamResponse&) {}, options);
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(LocateStreamTest, StreamLevelFailuresAreReturned) {
  std::unique_ptr<FakeServer> server = FakeServer::Start({});
  ASSERT_NE(server, nullptr);
  int delivered = 0;
  auto count = [&](const v1::LocateStreamResponse&) { ++delivered; };

  std::unique_ptr<Client> anonymous = ConnectTo(*server, "");
  EXPECT_EQ(anonymous->LocateStream(Items(5), count).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(delivered, 0);

  ClientOptions down;
  down.target = absl::StrCat("127.0.0.1:", testing::UnusedPort());
  std::unique_ptr<Client> unreachable = *Client::Connect(down);
  EXPECT_EQ(unreachable->LocateStream(Items(5), count).status().code(),
            absl::StatusCode::kUnavailable);

  std::unique_ptr<Client> client = ConnectTo(*server);
  StreamOptions zero;
  zero.max_in_flight = 0;
  EXPECT_EQ(client->LocateStream(Items(5), count, zero).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LocateStreamTest, EmptySourceIsAnEmptySuccess) {
  std::unique_ptr<FakeServer> server = FakeServer::Start({});
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> client = ConnectTo(*server);
  absl::StatusOr<StreamSummary> summary =
      client->LocateStream(Items(0), [](const v1::LocateStreamResponse&) {});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->sent, 0);
  EXPECT_EQ(summary->received, 0);
}

}  // namespace
}  // namespace geoloc::client
