#include "stages/sources/image_prefetch.h"

#include <stdexcept>

namespace pipeline {

ImagePrefetcher::ImagePrefetcher(std::vector<std::string> files, DecodeOptions options, int threads,
                                 int depth)
    : files_(std::move(files)), options_(options), depth_(static_cast<size_t>(std::max(1, depth))) {
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

ImagePrefetcher::~ImagePrefetcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  taken_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ImagePrefetcher::Work() {
  while (true) {
    size_t index = 0;
    {
      std::unique_lock lock(mutex_);
      taken_.wait(lock, [this] {
        return stopping_ || claimed_ >= files_.size() || claimed_ < next_ + depth_;
      });
      if (stopping_ || claimed_ >= files_.size()) return;
      index = claimed_++;
    }
    DecodedImage image = DecodeImageFile(files_[index], options_);
    {
      std::lock_guard lock(mutex_);
      ready_.emplace(index, std::move(image));
    }
    decoded_.notify_all();
  }
}

DecodedImage ImagePrefetcher::take(size_t index) {
  if (workers_.empty()) return DecodeImageFile(files_.at(index), options_);
  std::unique_lock lock(mutex_);
  if (index != next_) throw std::logic_error("ImagePrefetcher::take out of order");
  decoded_.wait(lock, [this, index] { return ready_.count(index) > 0; });
  DecodedImage image = std::move(ready_.at(index));
  ready_.erase(index);
  ++next_;
  lock.unlock();
  taken_.notify_all();
  return image;
}

}  // namespace pipeline
