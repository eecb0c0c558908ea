// vfiopp/io/uring_coro.hpp - C++20 coroutines over io::uring: co_await a request, get its completion.
//
//   io::uring_task watch_msi(io::coroutines& co, int efd, int& seen) {
//       for (;;) {
//           io::completion c = co_await co.wait_eventfd(efd);
//           if (c.cancelled || !c.value) co_return;
//           ++seen;                                         // one MSI; the loop re-arms the wait
//       }
//   }
//   io::coroutines co{ring};
//   auto t = watch_msi(co, msi.eventfd(0), seen);             // starts now, suspends at its first co_await
//   co.run([](io::completion&&) {}).value();                  // resumes it as its completions arrive
//
// io::coroutines puts each awaited request on the ring with a tag of its own (bit 63 set: callers' own tags must
// leave it clear) and remembers which coroutine waits for it; run() runs uring::wait() and resumes that coroutine,
// handing every other completion to the caller's function. A coroutine destroyed while it waits cancels its request
// and is forgotten: the late completion is dropped, never delivered to freed memory. A coroutine runs inside
// wait()'s callback, so it may queue and cancel requests but not call run() or wait() itself. An ioctl's request
// must outlive the co_await, which a local variable of the coroutine does.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/uring.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <span>
#include <unordered_map>
#include <utility>

namespace vfiopp::io {

/// The tag bit that marks a coroutine's request (callers' own tags must leave it clear).
inline constexpr std::uint64_t coroutine_tag_bit = std::uint64_t{1} << 63;

/// A started coroutine that returns nothing; move-only, it owns the frame (destroyed with the task, even while
/// suspended: its pending request is then cancelled and forgotten). `auto t = watch(co); ...; if (t.done()) ...`
class uring_task {
public:
    struct promise_type {
        uring_task get_return_object() { return uring_task{std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_never initial_suspend() noexcept { return {}; }  // runs until its first co_await
        std::suspend_always final_suspend() noexcept { return {}; }   // the frame stays until the task goes
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }     // errors are results, never exceptions
    };
    uring_task(uring_task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    uring_task& operator=(uring_task&& o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    uring_task(const uring_task&) = delete;
    uring_task& operator=(const uring_task&) = delete;
    ~uring_task() {
        if (h_) h_.destroy();
    }
    /// Whether the coroutine ran to its end: `while (!t.done()) co.run(other).value();`
    [[nodiscard]] bool done() const noexcept { return !h_ || h_.done(); }

private:
    explicit uring_task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    std::coroutine_handle<promise_type> h_;
};

class coroutines;

namespace detail {
/// What an awaiter and coroutines::run() share: the suspended coroutine and, once it arrives, its completion.
struct uring_await_state {
    std::coroutine_handle<> waiting;
    completion done;
};
}  // namespace detail

/// The awaitable of one request (made by coroutines::read() and the like): co_await yields its completion; a request
/// the ring refuses (a bad fd, an empty ring) completes at once with that error, without suspending.
template <typename Queue>
class uring_awaitable {
public:
    uring_awaitable(coroutines& co, Queue queue) : co_(&co), queue_(std::move(queue)) {}
    uring_awaitable(const uring_awaitable&) = delete;
    uring_awaitable& operator=(const uring_awaitable&) = delete;
    ~uring_awaitable();  // forgets (and cancels) a request still pending: its coroutine is being destroyed
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    completion await_resume() noexcept {
        tag_ = 0;
        return std::move(state_.done);
    }

private:
    coroutines* co_;
    Queue queue_;
    std::uint64_t tag_ = 0;  // non-zero while the request is on the ring
    detail::uring_await_state state_;
};

/// The coroutine side of one ring: makes awaitables and resumes their coroutines. Borrows the ring.
///   io::coroutines co{ring}; auto t = job(co); while (!t.done()) co.run(other).value();
class coroutines {
public:
    explicit coroutines(uring& ring) noexcept : ring_(&ring) {}
    coroutines(const coroutines&) = delete;
    coroutines& operator=(const coroutines&) = delete;

    /// co_await an eventfd wait: `auto c = co_await co.wait_eventfd(efd);   // c.value: the counter`
    [[nodiscard]] auto wait_eventfd(int efd) {
        return uring_awaitable{*this, [efd](uring& r, std::uint64_t tag) { return r.wait_eventfd(tag, efd); }};
    }
    /// co_await a read: `auto c = co_await co.read(data_fd, buf, io::uring::current_position);`
    [[nodiscard]] auto read(int fd, std::span<std::byte> buf, std::uint64_t offset) {
        return uring_awaitable{*this, [=](uring& r, std::uint64_t tag) { return r.read(tag, fd, buf, offset); }};
    }
    /// co_await a write: `auto c = co_await co.write(fd, bytes, io::uring::current_position);`
    [[nodiscard]] auto write(int fd, std::span<const std::byte> buf, std::uint64_t offset) {
        return uring_awaitable{*this, [=](uring& r, std::uint64_t tag) { return r.write(tag, fd, buf, offset); }};
    }
    /// co_await an offloaded ioctl (req outlives the co_await); `c.reply(req)` is then io::submit()'s result.
    ///   auto c = co_await co.ioctl(container, req); auto r = c.reply(req);
    template <wire::request_like Req>
    [[nodiscard]] auto ioctl(int fd, Req& req, ioctl_hook hook = {}) {
        return uring_awaitable{*this, [fd, &req, hook](uring& r, std::uint64_t tag) { return r.ioctl(tag, fd, req, hook); }};
    }

    /// One uring::wait() round: resumes the coroutine each awaited completion belongs to and hands the others to
    /// other; returns how many completions the ring delivered (see uring::wait for min_completions and timeout).
    ///   while (!task.done()) co.run([](io::completion&&) {}).value();
    template <typename Fn>
    [[nodiscard]] result<std::size_t> run(Fn&& other, unsigned min_completions = 1,
                                          std::chrono::nanoseconds timeout = uring::forever) {
        return ring_->wait(
            [&](completion&& c) {
                if (!(c.tag & coroutine_tag_bit)) {
                    other(std::move(c));
                    return;
                }
                auto it = waiting_.find(c.tag);
                if (it == waiting_.end()) return;  // its coroutine is gone: dropped
                auto* s = it->second;
                waiting_.erase(it);
                s->done = std::move(c);
                s->waiting.resume();
            },
            min_completions, timeout);
    }
    /// Coroutines suspended on a request: `co.waiting() == 0` once they all finished.
    [[nodiscard]] std::size_t waiting() const noexcept { return waiting_.size(); }
    /// The ring: `co.ring().pending()`.
    [[nodiscard]] uring& ring() noexcept { return *ring_; }

private:
    template <typename Queue>
    friend class uring_awaitable;
    uring* ring_;
    std::uint64_t next_ = 1;
    std::unordered_map<std::uint64_t, detail::uring_await_state*> waiting_;
};

template <typename Queue>
bool uring_awaitable<Queue>::await_suspend(std::coroutine_handle<> h) {
    state_.waiting = h;
    const std::uint64_t tag = coroutine_tag_bit | co_->next_++;
    if (auto r = queue_(*co_->ring_, tag); !r) {
        state_.done.tag = tag;
        state_.done.value = r.error();
        return false;  // resume at once with the error
    }
    tag_ = tag;
    co_->waiting_.emplace(tag, &state_);
    return true;
}

template <typename Queue>
uring_awaitable<Queue>::~uring_awaitable() {
    if (tag_ == 0) return;
    co_->waiting_.erase(tag_);
    (void)co_->ring_->cancel(tag_);  // best effort: its completion, whenever it comes, is dropped
}

}  // namespace vfiopp::io
