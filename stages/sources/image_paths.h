// Turns image_source's `path` parameter into the ordered list of files to read.
#pragma once

#include <string>
#include <vector>

namespace pipeline {

// True for the extensions of formats OpenCV decodes (case-insensitive): .png .jpg .jpeg .bmp
// .tif .tiff .webp and the rarer ones (.pgm .ppm .pnm .exr .hdr .jp2 ...).
bool HasImageExtension(const std::string& path);

// `spec` is one or more comma-separated items, each
//   a file            taken as it is, whatever its extension (a broken one becomes an error row)
//   a folder          every image file below it (recursive; hidden names skipped), sorted
//   a glob            * ? [...] as in the shell ("photos/*.jpg"); matching files, sorted
//   @list.txt         one path per line, relative to the list's folder; blank lines and lines
//                     starting with # are skipped; lines may name files, folders or globs
// Throws std::runtime_error naming the item when it does not exist, a glob or folder matches no
// image, or a list cannot be read. The result keeps the items' order.
std::vector<std::string> ExpandImagePaths(const std::string& spec);

}  // namespace pipeline
