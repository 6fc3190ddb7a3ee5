#pragma once
// Intrusive list of a worker's live sessions, so shutdown can reach them without a per-session
// allocation. One worker thread only.

namespace edge::proxy {

template <class T>
class IntrusiveList {
 public:
  struct Hook {
    T* prev = nullptr;
    T* next = nullptr;
  };

  void push(T* item) {
    item->hook.next = head_;
    item->hook.prev = nullptr;
    if (head_) head_->hook.prev = item;
    head_ = item;
    ++size_;
  }
  void remove(T* item) {
    if (item->hook.prev)
      item->hook.prev->hook.next = item->hook.next;
    else
      head_ = item->hook.next;
    if (item->hook.next) item->hook.next->hook.prev = item->hook.prev;
    item->hook = {};
    --size_;
  }
  template <class F>
  void forEach(F&& f) {  // f may not remove the item it is given
    for (T* it = head_; it != nullptr; it = it->hook.next) f(*it);
  }
  size_t size() const { return size_; }

 private:
  T* head_ = nullptr;
  size_t size_ = 0;
};

}  // namespace edge::proxy
