#include "core/model/model_info.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/common/json_proto.h"
#include "core/common/status_macros.h"
#include "google/protobuf/struct.pb.h"

namespace geoloc::model {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr int kFormatVersion = 1;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("geoloc.json: field \"", field, "\" ", what));
}

// Returns the field's value, or nullptr when it is absent (or JSON null).
const Value* Find(const Struct& root, absl::string_view field) {
  auto it = root.fields().find(std::string(field));
  if (it == root.fields().end() || it->second.kind_case() == Value::kNullValue) return nullptr;
  return &it->second;
}

absl::StatusOr<const Value*> Require(const Struct& root, absl::string_view field) {
  const Value* value = Find(root, field);
  if (value == nullptr) return FieldError(field, "is missing");
  return value;
}

absl::StatusOr<std::string> GetString(const Struct& root, absl::string_view field, bool required,
                                      bool allow_empty) {
  const Value* value = Find(root, field);
  if (value == nullptr) {
    if (required) return FieldError(field, "is missing");
    return std::string();
  }
  if (value->kind_case() != Value::kStringValue) return FieldError(field, "must be a string");
  if (!allow_empty && value->string_value().empty()) return FieldError(field, "must not be empty");
  return value->string_value();
}

// JSON has one number type; integers must be whole and inside [lo, hi].
absl::StatusOr<int> ToInt(const Value& value, absl::string_view field, int lo, int hi) {
  if (value.kind_case() != Value::kNumberValue) return FieldError(field, "must be a number");
  const double v = value.number_value();
  if (!std::isfinite(v) || v != std::floor(v)) return FieldError(field, "must be an integer");
  if (v < lo || v > hi) {
    return FieldError(field, absl::StrFormat("is %.17g, outside [%d, %d]", v, lo, hi));
  }
  return static_cast<int>(v);
}

absl::StatusOr<std::array<float, 3>> GetTriple(const Struct& root, absl::string_view field) {
  GEOLOC_ASSIGN_OR_RETURN(const Value* value, Require(root, field));
  if (value->kind_case() != Value::kListValue || value->list_value().values_size() != 3) {
    return FieldError(field, "must be a list of 3 numbers (R, G, B)");
  }
  std::array<float, 3> out;
  for (int c = 0; c < 3; ++c) {
    const Value& item = value->list_value().values(c);
    if (item.kind_case() != Value::kNumberValue || !std::isfinite(item.number_value()) ||
        std::fabs(item.number_value()) > 1e6) {
      return FieldError(field, "must be a list of 3 finite numbers (R, G, B)");
    }
    out[c] = static_cast<float>(item.number_value());
  }
  return out;
}

// The float as a JSON number: the shortest decimal that reads back as the same float, so 0.485f
// prints as 0.485 rather than as the double nearest to it (0.48500001430511475).
Value FloatValue(float f) {
  char buf[32];
  for (int precision = 6; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, static_cast<double>(f));
    if (std::strtof(buf, nullptr) == f) break;
  }
  Value v;
  v.set_number_value(std::strtod(buf, nullptr));
  return v;
}

Value NumberValue(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value StringValue(absl::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  return v;
}

template <typename... Values>
Value ListValue(Values... values) {
  Value v;
  for (const Value& item : {values...}) *v.mutable_list_value()->add_values() = item;
  return v;
}

}  // namespace

bool operator==(const ModelInfo& a, const ModelInfo& b) {
  return a.name == b.name && a.backbone == b.backbone && a.head == b.head && a.dim == b.dim &&
         a.metric == b.metric && a.input_height == b.input_height &&
         a.input_width == b.input_width && a.resize == b.resize && a.mean == b.mean &&
         a.std == b.std && a.fingerprint == b.fingerprint &&
         a.fp32_fingerprint == b.fp32_fingerprint;
}

absl::string_view MetricName(Metric metric) { return metric == Metric::kL2 ? "l2" : "ip"; }

absl::StatusOr<Metric> ParseMetric(absl::string_view name) {
  if (name == "ip") return Metric::kInnerProduct;
  if (name == "l2") return Metric::kL2;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown metric \"", name, "\" (expected \"ip\" or \"l2\")"));
}

absl::string_view ResizePolicyName(ResizePolicy policy) {
  return policy == ResizePolicy::kResize ? "resize" : "resize_center_crop";
}

absl::StatusOr<ResizePolicy> ParseResizePolicy(absl::string_view name) {
  if (name == "resize_center_crop") return ResizePolicy::kResizeCenterCrop;
  if (name == "resize") return ResizePolicy::kResize;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown resize policy \"", name, "\" (expected \"resize_center_crop\" or \"resize\")"));
}

absl::StatusOr<ModelInfo> ParseModelInfoJson(absl::string_view json) {
  Struct root;
  GEOLOC_RETURN_IF_ERROR(Annotate(ParseJsonProto(json, &root), "geoloc.json"));

  GEOLOC_ASSIGN_OR_RETURN(const Value* version, Require(root, "format_version"));
  GEOLOC_ASSIGN_OR_RETURN(int format_version, ToInt(*version, "format_version", 1, 1 << 20));
  if (format_version != kFormatVersion) {
    return FieldError("format_version",
                      absl::StrCat("is ", format_version, "; this build reads ", kFormatVersion));
  }

  ModelInfo info;
  GEOLOC_ASSIGN_OR_RETURN(info.name, GetString(root, "name", /*required=*/true, false));
  GEOLOC_ASSIGN_OR_RETURN(info.backbone, GetString(root, "backbone", /*required=*/false, true));
  GEOLOC_ASSIGN_OR_RETURN(info.head, GetString(root, "head", /*required=*/false, true));

  GEOLOC_ASSIGN_OR_RETURN(const Value* dim, Require(root, "dim"));
  GEOLOC_ASSIGN_OR_RETURN(info.dim, ToInt(*dim, "dim", 1, kMaxDescriptorDim));

  GEOLOC_ASSIGN_OR_RETURN(std::string metric, GetString(root, "metric", true, false));
  auto parsed_metric = ParseMetric(metric);
  if (!parsed_metric.ok()) return FieldError("metric", parsed_metric.status().message());
  info.metric = *parsed_metric;

  GEOLOC_ASSIGN_OR_RETURN(const Value* size, Require(root, "input_size"));
  if (size->kind_case() != Value::kListValue || size->list_value().values_size() != 2) {
    return FieldError("input_size", "must be a list [height, width]");
  }
  GEOLOC_ASSIGN_OR_RETURN(info.input_height,
                          ToInt(size->list_value().values(0), "input_size", 1, kMaxInputSide));
  GEOLOC_ASSIGN_OR_RETURN(info.input_width,
                          ToInt(size->list_value().values(1), "input_size", 1, kMaxInputSide));

  // The only field with a default: older archives predate the choice.
  GEOLOC_ASSIGN_OR_RETURN(std::string resize, GetString(root, "resize", false, false));
  if (!resize.empty()) {
    auto policy = ParseResizePolicy(resize);
    if (!policy.ok()) return FieldError("resize", policy.status().message());
    info.resize = *policy;
  }

  GEOLOC_ASSIGN_OR_RETURN(info.mean, GetTriple(root, "mean"));
  GEOLOC_ASSIGN_OR_RETURN(info.std, GetTriple(root, "std"));
  for (float s : info.std) {
    // Below 1e-6 the normalised values overflow any sensible range: almost surely a bad export.
    if (!(s >= 1e-6f)) return FieldError("std", "must hold 3 values > 0");
  }

  GEOLOC_ASSIGN_OR_RETURN(info.fingerprint, GetString(root, "fingerprint", true, false));
  GEOLOC_ASSIGN_OR_RETURN(info.fp32_fingerprint,
                          GetString(root, "fp32_fingerprint", false, false));
  return info;
}

absl::StatusOr<std::string> ModelInfoToJson(const ModelInfo& info) {
  Struct root;
  auto& f = *root.mutable_fields();
  f["format_version"] = NumberValue(kFormatVersion);
  f["name"] = StringValue(info.name);
  f["backbone"] = StringValue(info.backbone);
  f["head"] = StringValue(info.head);
  f["dim"] = NumberValue(info.dim);
  f["metric"] = StringValue(MetricName(info.metric));
  f["input_size"] = ListValue(NumberValue(info.input_height), NumberValue(info.input_width));
  f["resize"] = StringValue(ResizePolicyName(info.resize));
  f["mean"] =
      ListValue(FloatValue(info.mean[0]), FloatValue(info.mean[1]), FloatValue(info.mean[2]));
  f["std"] = ListValue(FloatValue(info.std[0]), FloatValue(info.std[1]), FloatValue(info.std[2]));
  f["fingerprint"] = StringValue(info.fingerprint);
  if (!info.fp32_fingerprint.empty()) f["fp32_fingerprint"] = StringValue(info.fp32_fingerprint);
  return ToJsonString(root);
}

}  // namespace geoloc::model
