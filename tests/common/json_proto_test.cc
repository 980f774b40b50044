#include "core/common/json_proto.h"

#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"

namespace geoloc {
namespace {

TEST(JsonProtoTest, RoundTripsAMessage) {
  google::protobuf::Struct in;
  (*in.mutable_fields())["name"].set_string_value("resnet18");
  (*in.mutable_fields())["dim"].set_number_value(512);
  auto text = ToJsonString(in);
  ASSERT_TRUE(text.ok());
  google::protobuf::Struct out;
  ASSERT_TRUE(ParseJsonProto(*text, &out).ok());
  EXPECT_EQ(out.fields().at("name").string_value(), "resnet18");
  EXPECT_EQ(out.fields().at("dim").number_value(), 512);
}

TEST(JsonProtoTest, MalformedJsonIsInvalidArgument) {
  google::protobuf::Struct out;
  auto st = ParseJsonProto("{\"name\": ", &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("google.protobuf.Struct"), std::string::npos);
}

}  // namespace
}  // namespace geoloc
