// Decodes image files ahead of their turn on background threads and hands them out in file
// order, so a folder's decoding is not bound to the one thread a source runs on. At most
// `depth` decoded images wait at once: memory stays bounded whatever the folder's size.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stages/sources/image_decode.h"

namespace pipeline {

class ImagePrefetcher {
 public:
  ImagePrefetcher(std::vector<std::string> files, DecodeOptions options, int threads, int depth);
  ~ImagePrefetcher();
  ImagePrefetcher(const ImagePrefetcher&) = delete;
  ImagePrefetcher& operator=(const ImagePrefetcher&) = delete;

  // File `index`'s image; call with 0, 1, 2, ... in order. Blocks until it is decoded.
  DecodedImage take(size_t index);

 private:
  void Work();

  const std::vector<std::string> files_;
  const DecodeOptions options_;
  const size_t depth_;
  std::mutex mutex_;
  std::condition_variable decoded_, taken_;
  size_t claimed_ = 0;  // files handed to a worker so far
  size_t next_ = 0;     // the next file take() returns
  std::map<size_t, DecodedImage> ready_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace pipeline
