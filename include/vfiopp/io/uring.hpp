// vfiopp/io/uring.hpp - the io_uring submitter: eventfd waits, reads, writes and (emulated) ioctls on one ring,
// one stream of typed completions.
//
//   auto ring = vfiopp::io::uring::create(64).value();              // 64 requests in flight at most, 1 ioctl worker
//   ring.wait_eventfd(1, msi.eventfd(0)).value();                    // tag 1: the next MSI
//   ring.read(2, mig.data_fd(), std::span(buf), io::uring::current_position).value();   // migration stream
//   auto info = wire::vfio::device_get_region_info(uapi::pci_region_index::bar0);
//   ring.ioctl(3, dev.fd(), info).value();                          // runs on the worker: `info` stays put till done
//   ring.wait([&](io::completion&& c) {                             // submits, then delivers what has finished
//       if (c.cancelled) return;                                    // cancel(tag) stopped it: not an error
//       if (!c.value) return log(c.value.error());                  // IORING_OP_READ: fd: EBADF [fd=0x7 ...]
//       if (c.tag == 1) ring.wait_eventfd(1, msi.eventfd(0)).value();          // re-arm: *c.value interrupts came
//       if (c.tag == 3) check(c.reply(info));                       // result<void>, as io::submit(dev.fd(), info)
//   }).value();
//
// The layer below the objects: it borrows plain int fds (an interrupts object's eventfds, a migration data_fd, a
// fault_queue's or vEVENTQ's fd, a device fd at a region's offset) and owns only its ring and its worker threads.
// One thread uses a uring (it is not thread-safe); the workers only post into it through the kernel.
//
// Requests. Each carries the caller's 64-bit tag, which its completion echoes (tags need not be unique; cancel(tag)
// stops all of them). A request is queued in the uring object and goes to the kernel at the next submit() or wait(),
// at most depth() of them at once (the depth given to create()): the rest wait, in order, in the uring object and
// are sent as completions are reaped. None is dropped and none is sent twice. A request that has not been sent yet
// does not wait in the kernel either: an eventfd wait beyond the depth sees its eventfd only once an earlier request
// has finished, so size the ring for every eventfd waited on at once plus the I/O in flight.
//
// Lifetime. A buffer given to read() or write(), an ioctl's request object and every fd stay at their address and
// open, untouched by the caller, until the request's completion is delivered (also when cancelled) or the uring is
// destroyed. The destructor drops the ioctls no worker has started, waits for the one each worker is running, asks
// the kernel to cancel what it still holds and waits for those completions: once it returns nothing writes into
// the caller's memory.
//
// Completions. wait() calls the caller's function with one completion per finished request: its tag, its op, and
// either cancelled (cancel() stopped it: a state of its own, not an error) or value, a result<std::uint64_t>: the
// eventfd's counter, the bytes read or written, or what the ioctl returned. A kernel error (a negative cqe->res)
// names the operation ("IORING_OP_READ", "IORING_OP_WRITE") and carries the errno; an ioctl's error is the one
// io::submit() gives, naming the VFIO or iommufd ioctl. c.reply(req) turns an ioctl's completion into exactly the
// type io::submit(fd, req) returns (io/reply.hpp): result<void>, result<int> or result<unique_fd>.
//
// A region is read as pread(2) reads it: `ring.read(tag, dev.fd(), buf, bar.offset() + off)`. Through the ring that
// is slower than pread(2) and far slower than an mmap'ed BAR. Measured in the project's emulated VT-d guest (Linux
// 7.3, TCG): a 4-byte config space read costs 16 us at batch 1 and 4.3 us at batch 256, against 0.84 us for pread
// and 0.2 us for a load from the mmap'ed BAR. vfio's device fd has only ->read (no ->read_iter, so no IOCB_NOWAIT),
// so io_uring cannot try the read inline and punts every one to an io-wq worker thread. Use the ring for what blocks
// or streams (eventfds, the migration data_fd, fault and vEVENTQ fds), and region::read()/write() for registers.
//
// The ioctl offload is emulated. No io_uring opcode carries a VFIO or iommufd ioctl: IORING_OP_URING_CMD reaches a
// driver's ->uring_cmd, which neither vfio nor iommufd has. So ioctl() hands the request to a worker thread of this
// object (a small pool, one by default) that calls io::submit(fd, req, hook), then posts the completion into this
// ring with IORING_OP_MSG_RING (Linux 5.18) from a small ring of its own: the caller sees one completion stream
// and one wait(), but the ioctl costs a thread handoff and is not cancellable once a worker has started it.
//
// Cancellation. cancel(tag) completes as cancelled every request with that tag that has not run yet: queued in
// the uring object or waiting for a worker (at once), or held by the kernel (IORING_OP_ASYNC_CANCEL, at the next
// submit() or wait()). A request already running finishes with its real result: an ioctl a worker has started, a
// read the kernel has begun. The cancel request's own completion is not delivered: what it did is seen in the
// target's completion, and a target that finished first has delivered its real result.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/reply.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/ioctl.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/request.hpp>

#include <liburing.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vfiopp::io {

/// What a request (and its completion) is: `if (c.op == io::uring_op::eventfd) ...`.
enum class uring_op : unsigned char {
    eventfd,  ///< uring::wait_eventfd(): an 8-byte IORING_OP_READ of an eventfd
    read,     ///< uring::read(): IORING_OP_READ
    write,    ///< uring::write(): IORING_OP_WRITE
    ioctl,    ///< uring::ioctl(): io::submit() on a worker thread, posted with IORING_OP_MSG_RING
};

/// One finished request, as uring::wait() delivers it; move-only (an ioctl's new fd is owned here).
///   ring.wait([](io::completion&& c) { if (!c.cancelled && c.value) use(c.tag, *c.value); });
struct completion {
    std::uint64_t tag = 0;      ///< the tag the request was given
    uring_op op = uring_op::read;
    bool cancelled = false;     ///< uring::cancel() stopped it before it ran: not an error (value then holds 0)
    /// eventfd: the counter read (> 0); read, write: the bytes moved (0 at end of file); ioctl: what ioctl(2)
    /// returned (0 for a status, the value, the new fd's number for new_fd). An error names "IORING_OP_READ" or
    /// "IORING_OP_WRITE" with the errno, or, for an ioctl, is io::submit()'s error naming the ioctl.
    result<std::uint64_t> value = std::uint64_t{0};
    unique_fd fd;                    ///< an ioctl's new fd (returns::new_fd, out_fd), owned here until reply() takes it
    std::uint32_t ioctl_code = 0;    ///< an ioctl's request code, which reply() checks against its request's type

    /// An ioctl's completion as io::submit(fd, req) would have returned it (result<void>, result<int> or
    /// result<unique_fd>, taking fd); req is the object given to uring::ioctl(), whose reply the kernel has written.
    /// EINVAL naming "tag" for a completion of another ioctl, ECANCELED when cancelled (an ioctl that never ran has
    /// no reply). `auto version = c.reply(req).value();   // int, for wire::vfio::get_api_version()`
    template <wire::request_like Req>
    [[nodiscard]] submit_result<Req> reply(const Req&) {
        if (op != uring_op::ioctl || ioctl_code != static_cast<std::uint32_t>(Req::ioctl.code))
            return detail::refuse(Req::ioctl.name, "tag", EINVAL, "this completion is not of this request's ioctl")
                .with("tag", tag);
        if (cancelled)
            return detail::refuse(Req::ioctl.name, {}, ECANCELED, "cancelled before it ran: there is no reply")
                .with("tag", tag);
        if (!value) return value.error();
        if constexpr (Req::ret.kind == uapi::returns::value) {
            return static_cast<int>(*value);
        } else if constexpr (Req::ret.kind == uapi::returns::new_fd || Req::ret.kind == uapi::returns::out_fd) {
            return std::move(fd);
        } else {
            return {};
        }
    }
};

}  // namespace vfiopp::io

namespace vfiopp::detail {

/// One offloaded ioctl: made by uring::ioctl(), run by a worker, read by the reaper after `done`.
struct uring_job {
    std::uint64_t id = 0;   // the slot's id: the user_data the worker posts
    std::uint64_t tag = 0;  // for cancel(), which searches the worker queue under the mutex
    int fd = -1;
    void* req = nullptr;    // the caller's request object (its type is known to run only)
    io::ioctl_hook hook{};
    std::uint32_t code = 0;
    void (*run)(uring_job&) = nullptr;
    // Written by the worker before `done` (release); read by the reaper after it (acquire).
    result<std::uint64_t> value = std::uint64_t{0};
    unique_fd new_fd;
    std::atomic<bool> done{false};
};

/// The worker's half of an offloaded ioctl: the synchronous path, its result kept for the completion.
template <wire::request_like Req>
void run_uring_job(uring_job& j) {
    auto r = io::submit(j.fd, *static_cast<Req*>(j.req), j.hook);
    if (!r) {
        j.value = r.error();
    } else if constexpr (Req::ret.kind == uapi::returns::value) {
        j.value = static_cast<std::uint64_t>(*r);
    } else if constexpr (Req::ret.kind == uapi::returns::new_fd) {
        j.value = static_cast<std::uint64_t>(r->get());  // ioctl(2) returned the fd
        j.new_fd = std::move(*r);
    } else if constexpr (Req::ret.kind == uapi::returns::out_fd) {
        j.value = std::uint64_t{0};  // ioctl(2) returned 0; the fd came in the image
        j.new_fd = std::move(*r);
    } else {
        j.value = std::uint64_t{0};
    }
}

/// One request from the call that queued it until its completion is delivered. Slots live in an unordered_map,
/// whose nodes never move: the kernel writes an eventfd's 8 bytes into `counter` while the request is in flight.
struct uring_slot {
    std::uint64_t tag = 0;
    io::uring_op op = io::uring_op::read;
    bool sent = false;         // its SQE is placed, or its job handed to the workers
    bool cancel_sent = false;  // an IORING_OP_ASYNC_CANCEL for it is placed (at most one)
    int fd = -1;
    void* buf = nullptr;
    std::uint32_t len = 0;
    std::uint64_t offset = 0;
    std::uint64_t counter = 0;
    std::unique_ptr<uring_job> job;
};

/// What a uring owns, on the heap so that moving the uring moves none of it: the worker threads hold its address,
/// the kernel holds the slots' addresses.
struct uring_core {
    // user_data of the internal IORING_OP_ASYNC_CANCEL requests; slot ids start at 1.
    static constexpr std::uint64_t cancel_data = 0;
    // How long a worker looks for the next ioctl, and wait() for an offloaded ioctl's completion, before sleeping.
    static constexpr std::chrono::microseconds offload_spin{50};

    io_uring ring{};
    bool ring_ready = false;
    std::size_t depth = 0;
    std::uint64_t next_id = 1;
    std::unordered_map<std::uint64_t, uring_slot> slots;
    std::deque<std::uint64_t> queued;     // slot ids not sent yet, in order: the overflow list
    std::deque<io::completion> ready;     // completions made here (cancelled before being sent), not delivered yet
    std::size_t sent = 0;                 // slots sent whose completion is not reaped: at most depth
    std::size_t cancels = 0;              // internal cancel requests placed whose CQE is not reaped
    std::size_t offloaded = 0;            // ioctls handed to the workers whose completion is not reaped

    std::mutex mutex;                     // guards jobs
    std::condition_variable wake;
    std::deque<uring_job*> jobs;          // handed to the workers, not started
    std::atomic<bool> stop{false};
    std::unique_ptr<io_uring[]> worker_rings;  // one per worker, for its IORING_OP_MSG_RING
    std::size_t worker_rings_ready = 0;
    std::vector<std::thread> workers;

    uring_core() = default;
    uring_core(const uring_core&) = delete;
    uring_core& operator=(const uring_core&) = delete;
    ~uring_core() { shut_down(); }

    // io_uring_submit(), retrying EINTR: the number of SQEs the kernel took, or -errno.
    int submit_raw() noexcept {
        int r;
        do {
            r = io_uring_submit(&ring);
        } while (r == -EINTR);
        return r;
    }
    // An SQE, submitting what is placed when the SQ is full; nullptr when the kernel takes none (-EBUSY, -EAGAIN:
    // its CQ is backed up until completions are reaped), with the errno in *code.
    io_uring_sqe* get_sqe(int* code) noexcept {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        if (sqe != nullptr) return sqe;
        int r = submit_raw();
        sqe = io_uring_get_sqe(&ring);
        if (sqe == nullptr) *code = r < 0 ? -r : EBUSY;
        return sqe;
    }

    static void worker_main(uring_core* c, io_uring* own) {
        for (;;) {
            uring_job* j;
            {
                std::unique_lock lock(c->mutex);
                // A VMM that offloads one ioctl after another would otherwise pay a sleep and a wake-up (an IPI to
                // an idle CPU) per ioctl: look again for a short while before sleeping.
                const auto until = std::chrono::steady_clock::now() + uring_core::offload_spin;
                while (!c->stop.load() && c->jobs.empty() && std::chrono::steady_clock::now() < until) {
                    lock.unlock();
                    std::this_thread::yield();
                    lock.lock();
                }
                c->wake.wait(lock, [c] { return c->stop.load() || !c->jobs.empty(); });
                if (c->stop.load()) return;  // jobs not started are dropped: the destructor frees them
                j = c->jobs.front();
                c->jobs.pop_front();
            }
            const std::uint64_t id = j->id;  // the reaper may free j as soon as the completion is posted
            j->run(*j);
            j->done.store(true, std::memory_order_release);
            post(c, own, id);
        }
    }
    // IORING_OP_MSG_RING of id into the main ring. The kernel fails it only when it cannot allocate an overflowed
    // CQE (EOVERFLOW, ENOMEM) or cannot take the SQE (EAGAIN): retried, since a completion that is not posted would
    // never be delivered, until the ring shuts down (then nobody waits for it).
    static void post(uring_core* c, io_uring* own, std::uint64_t id) {
        io_uring_prep_msg_ring(io_uring_get_sqe(own), c->ring.ring_fd, 0, id, 0);  // room: one message at a time
        for (;;) {
            const int r = io_uring_submit_and_wait(own, 1);  // < 0: the SQE was not taken, or the wait interrupted
            io_uring_cqe* cqe = nullptr;
            if (io_uring_peek_cqe(own, &cqe) == 0) {
                const int res = cqe->res;
                io_uring_cqe_seen(own, cqe);
                if (res >= 0) return;
                io_uring_prep_msg_ring(io_uring_get_sqe(own), c->ring.ring_fd, 0, id, 0);
            } else if (r == -EINTR) {
                continue;
            }
            if (c->stop.load()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    // Workers first (a running ioctl finishes and posts into the ring, which is still open), then every request
    // the kernel holds is cancelled and its CQE awaited: until then the kernel may write into the caller's buffers
    // and into the slots. Closing the ring alone would not do: the kernel tears a ring down asynchronously.
    void shut_down() noexcept {
        {
            std::lock_guard lock(mutex);
            stop.store(true);
            jobs.clear();
        }
        wake.notify_all();
        for (auto& t : workers) t.join();
        workers.clear();
        for (std::size_t i = 0; i < worker_rings_ready; ++i) io_uring_queue_exit(&worker_rings[i]);
        worker_rings_ready = 0;
        if (!ring_ready) return;
        std::vector<std::uint64_t> targets;
        std::size_t outstanding = cancels;  // CQEs still to come from the kernel
        for (auto& [id, s] : slots)
            if (s.sent && s.op != io::uring_op::ioctl) {
                ++outstanding;
                if (!s.cancel_sent) targets.push_back(id);
            }
        while (outstanding > 0) {
            while (!targets.empty()) {
                io_uring_sqe* sqe = io_uring_get_sqe(&ring);
                if (sqe == nullptr) break;  // the rest after this round
                io_uring_prep_cancel64(sqe, targets.back(), 0);
                io_uring_sqe_set_data64(sqe, cancel_data);
                targets.pop_back();
                ++outstanding;
            }
            (void)submit_raw();
            io_uring_cqe* cqe = nullptr;
            int r = io_uring_wait_cqe(&ring, &cqe);
            if (r == -EINTR) continue;
            if (r < 0) break;  // the ring is broken: nothing more will come
            const std::uint64_t data = cqe->user_data;
            io_uring_cqe_seen(&ring, cqe);
            if (data == cancel_data) {
                --outstanding;
            } else if (auto it = slots.find(data); it != slots.end() && it->second.op != io::uring_op::ioctl) {
                slots.erase(it);
                --outstanding;
            }  // else an ioctl's MSG_RING: its slot and any new fd are freed with `slots`
        }
        io_uring_queue_exit(&ring);
        ring_ready = false;
    }
};

}  // namespace vfiopp::detail

namespace vfiopp::io {

/// An io_uring with its worker threads; move-only. See the header comment.
class uring {
public:
    /// The offset of read() and write() that means the fd's file position (pipes, sockets, the migration data_fd).
    static constexpr std::uint64_t current_position = ~std::uint64_t{0};
    /// wait()'s timeout that never expires.
    static constexpr std::chrono::nanoseconds forever = std::chrono::nanoseconds::max();

    /// An empty ring (as one moved from): every request on it is EBADF. Use create().
    uring() noexcept = default;
    uring(const uring&) = delete;
    uring& operator=(const uring&) = delete;
    uring(uring&&) noexcept = default;
    /// Shuts the held ring down (as the destructor does), then takes o's: `ring = std::move(other);`
    uring& operator=(uring&&) noexcept = default;
    /// Drops the ioctls no worker has started, joins the workers (each finishes the ioctl it runs), cancels what
    /// the kernel holds and waits for it, then closes the rings. Completions not delivered are dropped (and the new
    /// fds they own closed).
    ~uring() = default;

    /// io_uring_setup with `entries` (the depth: requests in flight at most) and `workers` threads for ioctl()
    /// (0: none; ioctl() is then refused). The workers need IORING_OP_MSG_RING (Linux 5.18): EOPNOTSUPP otherwise.
    ///   auto ring = vfiopp::io::uring::create(64).value();
    [[nodiscard]] static result<uring> create(unsigned entries, unsigned workers = 1) {
        constexpr std::string_view name = "io_uring_setup";
        if (entries == 0) return detail::refuse(name, "entries", EINVAL, "a ring needs at least one entry");
        auto c = std::make_unique<detail::uring_core>();
        if (int r = io_uring_queue_init(entries, &c->ring, 0); r < 0) return setup_error(-r).with("entries", entries);
        c->ring_ready = true;
        c->depth = entries;
        if (workers > 0) {
            // Without MSG_RING a worker's completion could not reach the ring: refuse now, not lose it later.
            io_uring_probe* probe = io_uring_get_probe_ring(&c->ring);
            const bool msg_ring = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
            if (probe != nullptr) io_uring_free_probe(probe);
            if (!msg_ring)
                return detail::refuse(name, "workers", EOPNOTSUPP,
                                      "the ioctl workers need IORING_OP_MSG_RING (Linux 5.18): pass workers = 0")
                    .with("workers", workers);
            c->worker_rings = std::make_unique<io_uring[]>(workers);
            for (unsigned i = 0; i < workers; ++i, ++c->worker_rings_ready)
                if (int r = io_uring_queue_init(2, &c->worker_rings[i], 0); r < 0)
                    return setup_error(-r).with("entries", 2).with("worker", i);
            for (unsigned i = 0; i < workers; ++i)
                c->workers.emplace_back(detail::uring_core::worker_main, c.get(), &c->worker_rings[i]);
        }
        uring out;
        out.c_ = std::move(c);
        return out;
    }

    /// Whether a ring is held: `if (ring) ...`.
    explicit operator bool() const noexcept { return c_ != nullptr; }
    /// The ring's fd (-1 when empty), borrowed, e.g. to poll it from an outer event loop: `poll_on(ring.fd());`
    [[nodiscard]] int fd() const noexcept { return c_ ? c_->ring.ring_fd : -1; }
    /// The depth given to create(): requests in flight at most. `ring.depth() == 64`
    [[nodiscard]] std::size_t depth() const noexcept { return c_ ? c_->depth : 0; }
    /// Requests in the kernel or with a worker, completion not reaped yet: `ring.in_flight() <= ring.depth()`.
    [[nodiscard]] std::size_t in_flight() const noexcept { return c_ ? c_->sent : 0; }
    /// Requests whose completion has not been delivered (queued, in flight, or ready): `while (ring.pending()) ...`
    [[nodiscard]] std::size_t pending() const noexcept { return c_ ? c_->slots.size() + c_->ready.size() : 0; }

    /// Waits for eventfd efd (an INTx/MSI/MSI-X trigger, an ioeventfd): an 8-byte read, whose completion carries
    /// the counter (the signals since the last read; the read resets it). O_NONBLOCK eventfds (as interrupts makes
    /// them) wait too: the kernel polls an eventfd rather than answering EAGAIN. Re-arm from the completion to keep
    /// waiting. `ring.wait_eventfd(1, msi.eventfd(0)).value();`
    [[nodiscard]] result<void> wait_eventfd(std::uint64_t tag, int efd) {
        if (auto r = usable("IORING_OP_READ", "eventfd", efd); !r) return r;
        auto& s = add(tag, uring_op::eventfd, efd);
        s.buf = &s.counter;
        s.len = sizeof s.counter;
        return {};
    }
    /// Reads up to buf.size() bytes of fd at offset (current_position: the file position) into buf, which stays
    /// untouched until the completion (the bytes read). `ring.read(2, fault_fd, std::span(records), 0).value();`
    [[nodiscard]] result<void> read(std::uint64_t tag, int fd, std::span<std::byte> buf, std::uint64_t offset) {
        if (auto r = rw_usable("IORING_OP_READ", fd, buf.size()); !r) return r;
        auto& s = add(tag, uring_op::read, fd);
        s.buf = buf.data();
        s.len = static_cast<std::uint32_t>(buf.size());
        s.offset = offset;
        return {};
    }
    /// Writes buf to fd at offset (current_position: the file position); buf stays put until the completion (the
    /// bytes written, possibly fewer). `ring.write(4, fault_fd, std::as_bytes(std::span(responses)), 0).value();`
    [[nodiscard]] result<void> write(std::uint64_t tag, int fd, std::span<const std::byte> buf, std::uint64_t offset) {
        if (auto r = rw_usable("IORING_OP_WRITE", fd, buf.size()); !r) return r;
        auto& s = add(tag, uring_op::write, fd);
        s.buf = const_cast<std::byte*>(buf.data());  // IORING_OP_WRITE only reads it
        s.len = static_cast<std::uint32_t>(buf.size());
        s.offset = offset;
        return {};
    }
    /// Issues req's ioctl on fd on a worker thread (io::submit(fd, req, hook): see the header comment); req stays at
    /// its address, untouched, until the completion, which c.reply(req) turns into io::submit()'s result. The hook
    /// runs on the worker thread. `ring.ioctl(3, container, req).value();`
    template <wire::request_like Req>
    [[nodiscard]] result<void> ioctl(std::uint64_t tag, int fd, Req& req, ioctl_hook hook = {}) {
        if (!c_) return detail::refuse(Req::ioctl.name, "ring", EBADF, "the ring is empty (moved from)");
        if (fd < 0) return detail::refuse(Req::ioctl.name, "fd", EBADF, "no fd").with("fd", static_cast<std::uint64_t>(fd));
        if (c_->workers.empty())
            return detail::refuse(Req::ioctl.name, "workers", EINVAL, "the ring was created without ioctl workers");
        auto job = std::make_unique<detail::uring_job>();
        job->tag = tag;
        job->fd = fd;
        job->req = &req;
        job->hook = hook;
        job->code = static_cast<std::uint32_t>(Req::ioctl.code);
        job->run = &detail::run_uring_job<Req>;
        job->id = c_->next_id;  // the id add() gives the slot: the worker posts it as the completion's user_data
        add(tag, uring_op::ioctl, fd).job = std::move(job);
        return {};
    }
    /// A temporary request would be gone before the worker runs it: keep it in a variable.
    template <wire::request_like Req>
        requires(!std::is_lvalue_reference_v<Req>)
    result<void> ioctl(std::uint64_t tag, int fd, Req&& req, ioctl_hook hook = {}) = delete;

    /// Cancels every request with this tag that has not run yet (see the header comment); returns how many it
    /// stopped or asked the kernel to stop. Each then completes as cancelled, or, if it had started after all, with
    /// its real result. `ring.cancel(1).value();`
    [[nodiscard]] result<std::size_t> cancel(std::uint64_t tag) {
        if (!c_) return detail::refuse("IORING_OP_ASYNC_CANCEL", "ring", EBADF, "the ring is empty (moved from)");
        auto& c = *c_;
        std::size_t n = 0;
        for (auto it = c.queued.begin(); it != c.queued.end();) {  // not sent: nobody else knows them
            auto s = c.slots.find(*it);
            if (s->second.tag != tag) {
                ++it;
                continue;
            }
            c.ready.push_back(cancelled(s->second));
            c.slots.erase(s);
            it = c.queued.erase(it);
            ++n;
        }
        std::vector<std::uint64_t> unstarted;  // with the workers, not started: taken back under the lock
        {
            std::lock_guard lock(c.mutex);
            for (auto it = c.jobs.begin(); it != c.jobs.end();)
                if ((*it)->tag == tag) {
                    unstarted.push_back((*it)->id);
                    it = c.jobs.erase(it);
                } else {
                    ++it;
                }
        }
        for (std::uint64_t id : unstarted) {
            auto s = c.slots.find(id);
            c.ready.push_back(cancelled(s->second));
            c.slots.erase(s);
            --c.sent;
            --c.offloaded;
            ++n;
        }
        for (auto& [id, s] : c.slots) {  // in the kernel: it answers in the target's completion
            if (s.tag != tag || !s.sent || s.op == uring_op::ioctl || s.cancel_sent) continue;
            int code = 0;
            io_uring_sqe* sqe = c.get_sqe(&code);
            if (sqe == nullptr)
                return error{"io_uring_enter", "to_submit", code, "no room for the cancel request: reap completions, then cancel again",
                             error_origin::kernel}
                    .with("tag", tag);
            io_uring_prep_cancel64(sqe, id, 0);
            io_uring_sqe_set_data64(sqe, detail::uring_core::cancel_data);
            s.cancel_sent = true;
            ++c.cancels;
            ++n;
        }
        return n;
    }

    /// Sends queued requests (up to the depth) to the kernel and the workers, and submits what is placed; returns
    /// how many SQEs the kernel took. wait() does this itself. `ring.submit().value();`
    [[nodiscard]] result<std::size_t> submit() {
        if (!c_) return detail::refuse("io_uring_enter", "ring", EBADF, "the ring is empty (moved from)");
        auto& c = *c_;
        bool handed = false;
        while (!c.queued.empty() && c.sent < c.depth) {
            auto& s = c.slots.find(c.queued.front())->second;
            if (s.op == uring_op::ioctl) {
                std::lock_guard lock(c.mutex);
                c.jobs.push_back(s.job.get());
                handed = true;
                ++c.offloaded;
            } else {
                int code = 0;
                io_uring_sqe* sqe = c.get_sqe(&code);
                if (sqe == nullptr) {  // nothing is lost: the request stays queued
                    if (handed) c.wake.notify_all();
                    return error{"io_uring_enter", "to_submit", code, {}, error_origin::kernel};
                }
                io_uring_prep_rw(s.op == uring_op::write ? IORING_OP_WRITE : IORING_OP_READ, sqe, s.fd, s.buf, s.len,
                                 s.op == uring_op::eventfd ? 0 : s.offset);
                io_uring_sqe_set_data64(sqe, c.queued.front());
            }
            s.sent = true;
            ++c.sent;
            c.queued.pop_front();
        }
        if (handed) c.wake.notify_all();
        int r = c.submit_raw();
        if (r < 0) return error{"io_uring_enter", "to_submit", -r, {}, error_origin::kernel};
        return static_cast<std::size_t>(r);
    }

    /// Submits, then calls fn(completion&&) for each finished request until at least min_completions were delivered
    /// or the timeout passed (a timeout is not an error: fewer are returned); returns how many. It returns early when
    /// nothing is pending. fn may queue requests and cancel, not wait().
    ///   ring.wait([&](io::completion&& c) { done[c.tag] = std::move(c); }, 32, std::chrono::seconds(1)).value();
    template <typename Fn>
    [[nodiscard]] result<std::size_t> wait(Fn&& fn, unsigned min_completions = 1, std::chrono::nanoseconds timeout = forever) {
        if (!c_) return detail::refuse("io_uring_enter", "ring", EBADF, "the ring is empty (moved from)");
        const auto deadline = timeout == forever ? std::chrono::steady_clock::time_point::max()
                                                 : std::chrono::steady_clock::now() + timeout;
        std::size_t delivered = 0;
        for (;;) {
            // Every call goes through c_: fn may queue or cancel, which changes the containers.
            while (!c_->ready.empty()) {
                completion c = std::move(c_->ready.front());
                c_->ready.pop_front();
                fn(std::move(c));
                ++delivered;
            }
            io_uring_cqe* cqe = nullptr;
            while (io_uring_peek_cqe(&c_->ring, &cqe) == 0) {
                const std::uint64_t data = cqe->user_data;
                const int res = cqe->res;
                io_uring_cqe_seen(&c_->ring, cqe);  // before fn, which may queue, cancel and so submit
                if (auto c = reap(data, res)) {
                    fn(std::move(*c));
                    ++delivered;
                }
            }
            if (!c_->ready.empty()) continue;  // fn cancelled something
            if (auto r = submit(); !r) return r.error();  // reaping made room for queued requests
            if (delivered >= min_completions || pending() == 0) return delivered;
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) return delivered;
            // An offloaded ioctl completes within microseconds of its worker's start: look at the CQ for a short
            // while before sleeping, which saves the wake-up of this thread by the worker's MSG_RING.
            if (c_->offloaded > 0) {
                const auto until = std::min(deadline, now + detail::uring_core::offload_spin);
                while (io_uring_cq_ready(&c_->ring) == 0 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
                if (io_uring_cq_ready(&c_->ring) != 0) continue;
            }
            int r;
            if (deadline == std::chrono::steady_clock::time_point::max()) {
                r = io_uring_wait_cqe(&c_->ring, &cqe);
            } else {
                const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
                __kernel_timespec ts{left / 1000000000, left % 1000000000};
                r = io_uring_wait_cqe_timeout(&c_->ring, &cqe, &ts);
            }
            if (r < 0 && r != -ETIME && r != -EINTR) return error{"io_uring_enter", "min_complete", -r, {}, error_origin::kernel};
        }
    }
    /// wait() without waiting: delivers what has finished, submits what is queued. `ring.poll(on_completion).value();`
    template <typename Fn>
    [[nodiscard]] result<std::size_t> poll(Fn&& fn) {
        return wait(std::forward<Fn>(fn), 0, std::chrono::nanoseconds{0});
    }

private:
    [[nodiscard]] static error setup_error(int code) noexcept {
        error e{"io_uring_setup", "entries", code, {}, error_origin::kernel};
        if (code == EPERM) e.advise("io_uring is disabled for this process (sysctl kernel.io_uring_disabled, seccomp)");
        if (code == ENOSYS) e.advise("the kernel has no io_uring (CONFIG_IO_URING)");
        if (code == ENOMEM) e.advise("no memory for the ring (before Linux 5.12 it is charged to RLIMIT_MEMLOCK)");
        return e;
    }
    [[nodiscard]] result<void> usable(std::string_view op, std::string_view field, int fd) const {
        if (!c_) return detail::refuse(op, "ring", EBADF, "the ring is empty (moved from)");
        if (fd < 0) return detail::refuse(op, field, EBADF, "no fd").with("fd", static_cast<std::uint64_t>(fd));
        return {};
    }
    [[nodiscard]] result<void> rw_usable(std::string_view op, int fd, std::size_t len) const {
        if (auto r = usable(op, "fd", fd); !r) return r;
        if (len > UINT32_MAX)  // the SQE's len is 32 bits (and the kernel moves at most MAX_RW_COUNT per call)
            return detail::refuse(op, "len", EINVAL, "one request moves less than 4 GiB").with("len", len);
        return {};
    }
    detail::uring_slot& add(std::uint64_t tag, uring_op op, int fd) {
        const std::uint64_t id = c_->next_id++;
        auto& s = c_->slots[id];
        s.tag = tag;
        s.op = op;
        s.fd = fd;
        c_->queued.push_back(id);
        return s;
    }
    [[nodiscard]] static completion cancelled(const detail::uring_slot& s) {
        completion c;
        c.tag = s.tag;
        c.op = s.op;
        c.cancelled = true;
        if (s.job) c.ioctl_code = s.job->code;
        return c;
    }
    // One CQE: the completion to deliver, or nothing for the internal cancel requests.
    [[nodiscard]] std::optional<completion> reap(std::uint64_t data, int res) {
        auto& c = *c_;
        if (data == detail::uring_core::cancel_data) {
            --c.cancels;
            return std::nullopt;
        }
        auto it = c.slots.find(data);
        if (it == c.slots.end()) return std::nullopt;  // not ours (liburing's own timeouts use other values)
        auto& s = it->second;
        --c.sent;
        completion out;
        out.tag = s.tag;
        out.op = s.op;
        if (s.op == uring_op::ioctl) {
            --c.offloaded;
            // The MSG_RING is posted after `done` is set: this reads true at once, and synchronises with the worker.
            while (!s.job->done.load(std::memory_order_acquire)) std::this_thread::yield();
            out.value = std::move(s.job->value);
            out.fd = std::move(s.job->new_fd);
            out.ioctl_code = s.job->code;
        } else if (res == -ECANCELED || (res == -EINTR && s.cancel_sent)) {  // io-wq answers a cancel with EINTR
            out.cancelled = true;
        } else if (res < 0) {
            const bool efd = s.op == uring_op::eventfd;
            error e{s.op == uring_op::write ? "IORING_OP_WRITE" : "IORING_OP_READ", efd ? "eventfd" : "fd", -res, {},
                    error_origin::kernel};
            e.with("fd", static_cast<std::uint64_t>(s.fd));
            if (!efd) e.with("offset", s.offset).with("len", s.len);
            out.value = e;
        } else if (s.op == uring_op::eventfd && res != static_cast<int>(sizeof s.counter)) {
            out.value = detail::refuse("IORING_OP_READ", "eventfd", EIO, "an eventfd read gives 8 bytes: is the fd an eventfd?")
                            .with("fd", static_cast<std::uint64_t>(s.fd))
                            .with("bytes", static_cast<std::uint64_t>(res));
        } else {
            out.value = s.op == uring_op::eventfd ? s.counter : static_cast<std::uint64_t>(res);
        }
        c.slots.erase(it);
        return out;
    }

    std::unique_ptr<detail::uring_core> c_;
};

}  // namespace vfiopp::io
