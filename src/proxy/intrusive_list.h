#pragma once
// Doubly linked list threaded through its items (a worker's live sessions, the connects
// waiting for their deadline), so joining and leaving it never allocates. An item can be in
// several lists at once, one hook member per list. One worker thread only.

#include <cstddef>

namespace edge::proxy {

template <class T>
struct IntrusiveHook {
  T* prev = nullptr;
  T* next = nullptr;
  bool linked = false;
};

// Finds an item's hook: `hook` unless the list names another one. A functor, not a member
// pointer, so a list can be declared while T is still incomplete.
struct HookMember {
  template <class T>
  auto& operator()(T* item) const {
    return item->hook;
  }
};

template <class T, class HookOf = HookMember>
class IntrusiveList {
 public:
  void pushBack(T* item) {
    auto& h = HookOf{}(item);
    h = {tail_, nullptr, true};
    if (tail_) HookOf{}(tail_).next = item;
    tail_ = item;
    if (!head_) head_ = item;
    ++size_;
  }
  void remove(T* item) {
    auto& h = HookOf{}(item);
    if (!h.linked) return;
    (h.prev ? HookOf{}(h.prev).next : head_) = h.next;
    (h.next ? HookOf{}(h.next).prev : tail_) = h.prev;
    h = {};
    --size_;
  }
  T* front() const { return head_; }
  template <class F>
  void forEach(F&& f) {  // f may not remove the item it is given
    for (T* it = head_; it != nullptr; it = HookOf{}(it).next) f(*it);
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace edge::proxy
