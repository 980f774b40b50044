// Finding and reading the image files the CLI and the load generator send.
//
//   GEOLOC_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListImageFiles("/data/photos"));
//   GEOLOC_ASSIGN_OR_RETURN(std::string bytes, ReadImageFile(paths[0]));
//
// Images are recognised by extension (jpg, jpeg, png, webp, bmp, tif, tiff; any case); the
// server decides whether the bytes really are an image. Stateless; thread-safe.
#ifndef GEOLOC_CLIENT_IMAGE_FILES_H_
#define GEOLOC_CLIENT_IMAGE_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace geoloc::client {

bool HasImageExtension(absl::string_view path);

// The image files directly inside `dir` (not in subdirectories), sorted by name. NOT_FOUND or
// INVALID_ARGUMENT when `dir` is missing or not a directory; an empty list is not an error.
absl::StatusOr<std::vector<std::string>> ListImageFiles(const std::string& dir);

// `path` itself when it is a file, else ListImageFiles(path); INVALID_ARGUMENT when that finds no
// image.
absl::StatusOr<std::vector<std::string>> ImageFilesAt(const std::string& path);

// The file's bytes. An empty file is INVALID_ARGUMENT: it cannot be an image.
absl::StatusOr<std::string> ReadImageFile(const std::string& path);

}  // namespace geoloc::client

#endif  // GEOLOC_CLIENT_IMAGE_FILES_H_
