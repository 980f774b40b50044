// A generated corpus of hostile and borderline request images, each with the status geolocd must
// answer it with. The hardening integration tests send every entry to real servers; the
// `make_hostile_corpus` tool writes the entries as files (seeds for fuzzers, or for ghz/curl).
//
//   CorpusOptions options;
//   options.max_message_bytes = 1 << 20;  // the server's --max_message_bytes
//   for (const HostileEntry& e : HostileCorpus(options)) {
//     EXPECT_EQ(client->Locate(RequestFor(e)).status().code(), e.expected) << e.name;
//   }
//
// Everything is generated in code (OpenCV encoders, hand-built containers from
// tests/support/forged_images.h), with fixed seeds: the same build yields the same bytes on every
// run. No gRPC, no LibTorch: fuzz and sanitizer builds can link it.
//
// How the expected code is chosen (what the server should answer, not what it happens to do):
//   | the bytes are                                                  | expected           |
//   |----------------------------------------------------------------|--------------------|
//   | a complete image in a supported format (JPEG, PNG, WebP, BMP,  | OK                 |
//   | TIFF), whatever its metadata says (broken EXIF is ignored)     |                    |
//   | empty, not an image, cut short, internally inconsistent, or a  | INVALID_ARGUMENT   |
//   | format geoloc does not read (GIF, animated WebP, HEIF, ...)    |                    |
//   | a header declaring a side > 65535 or width x height >          | RESOURCE_EXHAUSTED |
//   | max_image_pixels, or a JPEG scan bomb (> 500 scans)            |                    |
//   | a request message larger than max_message_bytes               | RESOURCE_EXHAUSTED |
//   |                                                                | (gRPC's own check; |
//   |                                                                | whole_message)     |
// Size limits win over corruption: a header declaring too many pixels is RESOURCE_EXHAUSTED even
// when no pixel data follows, because the server refuses it before looking further.
//
// Plain functions and value types; thread-safe.
#ifndef GEOLOC_TESTS_HARDENING_HOSTILE_CORPUS_H_
#define GEOLOC_TESTS_HARDENING_HOSTILE_CORPUS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace geoloc::hardening {

// The server limits the expectations depend on; set them to the flags of the server under test.
struct CorpusOptions {
  int64_t max_image_pixels = 50'000'000;  // --max_image_pixels
  int64_t max_message_bytes = 16 << 20;   // --max_message_bytes
};

struct HostileEntry {
  std::string name;            // unique, [a-z0-9_] only: usable as a file name
  std::string bytes;           // the image field of the request
  absl::StatusCode expected;   // kOk, kInvalidArgument or kResourceExhausted
  std::string why;             // what the entry is and why that answer, one line
  // The message itself exceeds max_message_bytes: gRPC refuses the whole call (a LocateStream
  // carrying it ends with RESOURCE_EXHAUSTED instead of answering an item).
  bool whole_message = false;
};

// Every entry, in a fixed order. Entries depend on `options` only through the two limits.
std::vector<HostileEntry> HostileCorpus(const CorpusOptions& options = {});

// Building blocks, public for tests that craft their own variants (EXIF blocks and other
// hand-made containers: tests/support/forged_images.h).
std::string EncodeTestJpeg(int width, int height, bool progressive = false, bool gray = false);
std::string EncodeTestPng(int width, int height);

}  // namespace geoloc::hardening

#endif  // GEOLOC_TESTS_HARDENING_HOSTILE_CORPUS_H_
