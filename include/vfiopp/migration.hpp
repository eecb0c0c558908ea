// vfiopp/migration.hpp - VFIO migration v2 as a typed state machine over a device fd, and DMA logging.
//
//   auto src = vfiopp::migration::open(dev).value();            // GET MIGRATION flags, GET MIG_DEVICE_STATE
//   src.move_to(device_mig_state::pre_copy).value();             // RUNNING -> PRE_COPY: the data fd is owned here
//   auto pi = src.precopy_info().value();                        // VFIO_MIG_GET_PRECOPY_INFO on the data fd
//   std::vector<std::byte> image;
//   src.save([&](std::span<const std::byte> s) { image.insert(image.end(), s.begin(), s.end()); }).value();
//   src.move_to(device_mig_state::stop_copy).value();            // PRE_COPY -> PRE_COPY_P2P -> STOP_COPY (same fd)
//   src.save([&](std::span<const std::byte> s) { image.insert(image.end(), s.begin(), s.end()); }).value();
//   auto dst = vfiopp::migration::open(dev2).value();
//   dst.move_to(device_mig_state::resuming).value();             // RUNNING -> ... -> STOP -> RESUMING
//   dst.load(std::span<const std::byte>(image)).value();
//   dst.move_to(device_mig_state::running).value();              // RESUMING -> STOP (the device loads) -> RUNNING
//
// The rules are the kernel's (linux/vfio.h, "The FSM takes actions on the arcs between FSM states", and
// vfio_mig_get_next_state() in drivers/vfio/vfio_main.c): set_state() issues one FSM arc and refuses, before any
// ioctl, a target that is not one arc away given the device's VFIO_DEVICE_FEATURE_MIGRATION flags (P2P and PRE_COPY
// add states and change which arcs exist); move_to() walks the kernel's own combination path one arc per ioctl.
// The state is cached (read once by open(), then the target of each arc that succeeded; re-read after an arc
// fails, since the kernel may have stopped anywhere on its path or gone to ERROR); query_state() re-reads it.
//
// The data transfer fd of the arcs that start a session (RUNNING -> PRE_COPY, RUNNING_P2P -> PRE_COPY_P2P,
// STOP -> STOP_COPY, STOP -> RESUMING) is a unique_fd owned by the migration object. Arcs within the saving group
// (PRE_COPY, PRE_COPY_P2P, STOP_COPY) keep it; an arc that ends the session (out of the saving group, out of
// RESUMING) closes it. The object borrows the device fd: it must go before the device. It never changes the
// device's state on its own, also not when destroyed: leave devices RUNNING before closing them (mtty 7.3 oopses
// on a device reopened after being closed in RESUMING).
#pragma once

#include <vfiopp/device.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/vfio.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace vfiopp {

/// What VFIO_MIG_GET_PRECOPY_INFO reports on a PRE_COPY data fd.
struct precopy_info {
    std::uint64_t initial_bytes = 0;  ///< initial data still to read
    std::uint64_t dirty_bytes = 0;    ///< device state changed since it was read
    bool reinit = false;              ///< VFIO_PRECOPY_INFO_REINIT (only after enable_precopy_reinit(), 7.3)
};

/// A shortest legal path between two migration states: the states after each arc, the target last.
struct migration_path {
    std::array<uapi::device_mig_state, 8> steps{};
    std::size_t size = 0;
    [[nodiscard]] constexpr const uapi::device_mig_state* begin() const noexcept { return steps.data(); }
    [[nodiscard]] constexpr const uapi::device_mig_state* end() const noexcept { return steps.data() + size; }
};

/// Migration v2 of one device (borrowed fd); move-only; owns the current data transfer fd.
class migration {
public:
    using state = uapi::device_mig_state;
    using flags_type = uapi::bitmask<uapi::migration_flag>;

    // ---- the kernel's rules, as constexpr functions ----

    /// Whether a device with these VFIO_DEVICE_FEATURE_MIGRATION flags has state s (the kernel's state_flags_table;
    /// ERROR is never a state one can ask for). `migration::supports(flags, state::pre_copy_p2p)`
    [[nodiscard]] static constexpr bool supports(flags_type f, state s) noexcept {
        using uapi::migration_flag;
        if (!f.has(migration_flag::stop_copy)) return false;
        switch (s) {
            case state::stop: case state::running: case state::stop_copy: case state::resuming: return true;
            case state::running_p2p: return f.has(migration_flag::p2p);
            case state::pre_copy: return f.has(migration_flag::pre_copy);
            case state::pre_copy_p2p: return f.has(migration_flag::pre_copy) && f.has(migration_flag::p2p);
            default: return false;
        }
    }
    /// PRE_COPY, PRE_COPY_P2P and STOP_COPY share one data transfer session: `migration::in_saving_group(s)`.
    [[nodiscard]] static constexpr bool in_saving_group(state s) noexcept {
        return s == state::pre_copy || s == state::pre_copy_p2p || s == state::stop_copy;
    }
    /// Whether from -> to is one FSM arc a driver with these flags implements (the arcs listed in
    /// vfio_mig_get_next_state(): the base four, the P2P or non-P2P RUNNING/STOP arcs, the PRE_COPY ones).
    ///   migration::is_arc(flags, state::running, state::pre_copy)
    [[nodiscard]] static constexpr bool is_arc(flags_type f, state from, state to) noexcept {
        if (from == to || !supports(f, from) || !supports(f, to)) return false;
        const bool p2p = f.has(uapi::migration_flag::p2p), pre = f.has(uapi::migration_flag::pre_copy);
        auto is = [&](state a, state b) { return from == a && to == b; };
        if (is(state::resuming, state::stop) || is(state::stop, state::resuming) || is(state::stop, state::stop_copy) ||
            is(state::stop_copy, state::stop))
            return true;
        if (p2p && (is(state::running, state::running_p2p) || is(state::running_p2p, state::running) ||
                    is(state::running_p2p, state::stop) || is(state::stop, state::running_p2p)))
            return true;
        if (!p2p && (is(state::running, state::stop) || is(state::stop, state::running))) return true;
        if (pre && (is(state::running, state::pre_copy) || is(state::pre_copy, state::running))) return true;
        if (pre && !p2p && is(state::pre_copy, state::stop_copy)) return true;
        if (pre && p2p &&
            (is(state::pre_copy, state::pre_copy_p2p) || is(state::pre_copy_p2p, state::pre_copy) ||
             is(state::pre_copy_p2p, state::running_p2p) || is(state::pre_copy_p2p, state::stop_copy) ||
             is(state::running_p2p, state::pre_copy_p2p)))
            return true;
        return false;
    }
    /// The first arc of the kernel's path from -> to (vfio_mig_get_next_state(): its table, skipping states the
    /// flags lack); nullopt where the kernel answers EINVAL (unsupported state, ERROR, STOP_COPY -> PRE_COPY*).
    ///   migration::next_state(flags, state::running, state::stop) == state::running_p2p   // with P2P
    [[nodiscard]] static constexpr std::optional<state> next_state(flags_type f, state from, state to) noexcept {
        if (!supports(f, from) || !supports(f, to)) return std::nullopt;
        if (from == to) return to;
        state next = table(from, to);
        while (next != state::error && !supports(f, next)) next = table(next, to);
        if (next == state::error) return std::nullopt;
        return next;
    }
    /// The whole path from -> to, one state per arc (empty when from == to; nullopt where next_state() is).
    ///   for (auto s : *migration::path(flags, state::running, state::resuming)) ...   // RUNNING_P2P, STOP, RESUMING
    [[nodiscard]] static constexpr std::optional<migration_path> path(flags_type f, state from, state to) noexcept {
        if (!supports(f, from) || !supports(f, to)) return std::nullopt;
        migration_path p;
        for (state s = from; s != to;) {
            auto n = next_state(f, s, to);
            if (!n || p.size == p.steps.size()) return std::nullopt;
            p.steps[p.size++] = s = *n;
        }
        return p;
    }
    /// Whether the arc from -> to starts a data transfer session (the kernel returns a new data_fd).
    [[nodiscard]] static constexpr bool opens_session(state from, state to) noexcept {
        return (from == state::running && to == state::pre_copy) ||
               (from == state::running_p2p && to == state::pre_copy_p2p) ||
               (from == state::stop && to == state::stop_copy) || (from == state::stop && to == state::resuming);
    }

    // ---- the object ----

    migration() noexcept = default;

    /// Reads the device's migration flags (VFIO_DEVICE_FEATURE_MIGRATION GET) and state (MIG_DEVICE_STATE GET).
    /// The device's own ioctl hook is not visible from here: pass the same one when it has one.
    ///   auto mig = vfiopp::migration::open(dev).value();
    [[nodiscard]] static result<migration> open(const device& dev, io::ioctl_hook hook = {}) {
        return open(dev.fd(), hook, dev.name());
    }
    /// As above over a plain device fd (borrowed); name is for errors: `migration::open(fd, {}, "mtty0")`.
    [[nodiscard]] static result<migration> open(int device_fd, io::ioctl_hook hook = {}, std::string_view name = {}) {
        if (device_fd < 0)
            return detail::refuse(uapi::vfio::device_feature.name, "fd", EBADF, "no device fd").about(name);
        migration m;
        m.fd_ = device_fd;
        m.hook_ = hook;
        m.name_ = name;
        auto g = wire::vfio::feature_get<uapi::vfio_device_feature_migration>();
        if (auto r = io::submit(device_fd, g, hook); !r) {
            auto e = r.error().about(name);
            if (e.code == ENOTTY) e.advise("the device has no migration driver (VFIO_DEVICE_FEATURE_MIGRATION)");
            return e;
        }
        m.flags_ = g.read<uapi::vfio_device_feature_migration>(sizeof(uapi::vfio_device_feature)).flags;
        if (!m.flags_.has(uapi::migration_flag::stop_copy))
            return detail::refuse(uapi::vfio::device_feature.name, "flags", EOPNOTSUPP,
                                  "the device's migration flags lack STOP_COPY, which migration v2 requires")
                .with("flags", m.flags_.bits())
                .about(name);
        if (auto s = m.query_state(); !s) return s.error();
        return m;
    }

    /// The device's VFIO_DEVICE_FEATURE_MIGRATION flags: `mig.flags().has(migration_flag::pre_copy)`.
    [[nodiscard]] flags_type flags() const noexcept { return flags_; }
    /// Whether this device has state s: `mig.supports(state::running_p2p)`.
    [[nodiscard]] bool supports(state s) const noexcept { return supports(flags_, s); }
    /// The cached state (no ioctl): `mig.current() == state::running`.
    [[nodiscard]] state current() const noexcept { return state_; }
    /// The current data transfer fd (-1 when no session is open), borrowed: `poll_on(mig.data_fd());`
    [[nodiscard]] int data_fd() const noexcept { return data_.get(); }
    /// Hands the data transfer fd over (to another process, an io_uring): `send_fd(sock, mig.release_data_fd());`
    [[nodiscard]] unique_fd release_data_fd() noexcept { return std::move(data_); }

    /// MIG_DEVICE_STATE GET: re-reads the state into the cache: `auto s = mig.query_state().value();`
    [[nodiscard]] result<state> query_state() {
        auto g = wire::vfio::feature_get<uapi::vfio_device_feature_mig_state>();
        if (auto r = io::submit(fd_, g, hook_); !r) return r.error().about(name_);
        state_ = g.read<uapi::vfio_device_feature_mig_state>(sizeof(uapi::vfio_device_feature)).device_state;
        return state_;
    }

    /// One FSM arc: MIG_DEVICE_STATE SET to `to`, which must be one arc from current() given flags() (else EINVAL
    /// naming device_state, from and to, and no ioctl); to == current() is a no-op. A session's data fd is kept.
    ///   mig.set_state(state::stop).value();    // from RUNNING on a device without P2P
    [[nodiscard]] result<void> set_state(state to) {
        if (to == state_) return {};
        if (!is_arc(flags_, state_, to)) return arc_error(state_, to);
        return issue_arc(to);
    }
    /// The kernel's combination path to `to`, one arc (one ioctl) at a time; a target the device lacks, ERROR, or
    /// STOP_COPY -> PRE_COPY* is refused before any ioctl. On a failed arc current() is what the kernel says.
    ///   mig.move_to(state::resuming).value();  // RUNNING -> RUNNING_P2P -> STOP -> RESUMING with P2P
    [[nodiscard]] result<void> move_to(state to) {
        auto p = path(flags_, state_, to);
        if (!p) return arc_error(state_, to);
        for (state s : *p)
            if (auto r = issue_arc(s); !r) return std::move(r.error()).with("to", static_cast<std::uint64_t>(to));
        return {};
    }

    /// VFIO_DEVICE_FEATURE_MIG_DATA_SIZE GET: bytes the device estimates STOP_COPY will stream.
    ///   auto n = mig.data_size().value();
    [[nodiscard]] result<std::uint64_t> data_size() const {
        auto g = wire::vfio::feature_get<uapi::vfio_device_feature_mig_data_size>();
        if (auto r = io::submit(fd_, g, hook_); !r) return r.error().about(name_);
        return g.read<uapi::vfio_device_feature_mig_data_size>(sizeof(uapi::vfio_device_feature)).stop_copy_length;
    }
    /// VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 SET (7.3): precopy_info() then reports REINIT. Needs PRE_COPY.
    ///   mig.enable_precopy_reinit().value();
    [[nodiscard]] result<void> enable_precopy_reinit() {
        if (!flags_.has(uapi::migration_flag::pre_copy))
            return detail::refuse(uapi::vfio::device_feature.name, "flags", EINVAL,
                                  "MIG_PRECOPY_INFOv2 needs a device with PRE_COPY")
                .with("flags", flags_.bits())
                .about(name_);
        if (auto r = io::submit(fd_, wire::vfio::feature_set(wire::vfio::mig_precopy_infov2{}), hook_); !r)
            return r.error().about(name_);
        precopy_v2_ = true;
        return {};
    }
    /// VFIO_MIG_GET_PRECOPY_INFO on the data fd; only in PRE_COPY / PRE_COPY_P2P (else EINVAL, no ioctl).
    ///   auto pi = mig.precopy_info().value();  pi.initial_bytes;
    [[nodiscard]] result<vfiopp::precopy_info> precopy_info() const {
        constexpr std::string_view name = uapi::vfio::mig_get_precopy_info.name;
        if (state_ != state::pre_copy && state_ != state::pre_copy_p2p)
            return detail::refuse(name, "device_state", EINVAL, "precopy info exists only in PRE_COPY and PRE_COPY_P2P")
                .with("state", static_cast<std::uint64_t>(state_))
                .about(name_);
        if (!data_) return detail::refuse(name, "data_fd", EBADF, "the data fd was released").about(name_);
        auto q = wire::vfio::mig_get_precopy_info();
        if (auto r = io::submit(data_.get(), q, hook_); !r) return r.error().about(name_);
        auto h = q.header();
        return vfiopp::precopy_info{h.initial_bytes, h.dirty_bytes,
                                    precopy_v2_ && h.flags.has(uapi::precopy_info_flag::reinit)};
    }

    /// Reads the data fd and hands each chunk to sink(std::span<const std::byte>) (returning void or result<void>;
    /// an error stops the copy): in STOP_COPY to the end of the stream, in PRE_COPY* what is available now (up to
    /// the temporary end of stream: read() 0, ENOMSG, or EAGAIN on a non-blocking fd). Returns the bytes read.
    ///   auto n = mig.save([&](std::span<const std::byte> s) { out.insert(out.end(), s.begin(), s.end()); }).value();
    template <typename Sink>
        requires std::is_invocable_v<Sink&, std::span<const std::byte>>
    [[nodiscard]] result<std::uint64_t> save(Sink&& sink) {
        if (!in_saving_group(state_)) return no_session("read", state_, "save() needs PRE_COPY, PRE_COPY_P2P or STOP_COPY");
        if (!data_) return no_session("read", state_, "no data fd: the session's fd was released");
        std::array<std::byte, 4096> buf;
        std::uint64_t total = 0;
        for (;;) {
            ssize_t n = ::read(data_.get(), buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == ENOMSG || errno == EAGAIN) && state_ != state::stop_copy) break;  // PRE_COPY: for now
            if (n < 0 && errno == EAGAIN) {  // a non-blocking fd in STOP_COPY: wait for the rest
                pollfd p{data_.get(), POLLIN, 0};
                if (::poll(&p, 1, -1) < 0 && errno != EINTR) return io_error("poll", errno, total);
                continue;
            }
            if (n < 0) return io_error("read", errno, total);
            if (n == 0) break;
            std::span<const std::byte> chunk(buf.data(), static_cast<std::size_t>(n));
            if constexpr (std::is_void_v<std::invoke_result_t<Sink&, std::span<const std::byte>>>) {
                sink(chunk);
            } else {
                if (auto r = sink(chunk); !r) return r.error();
            }
            total += static_cast<std::uint64_t>(n);
        }
        return total;
    }
    /// save() into a file, pipe or socket: `mig.save_to(out_fd).value();`
    [[nodiscard]] result<std::uint64_t> save_to(int out_fd) {
        return save([out_fd](std::span<const std::byte> s) -> result<void> { return write_all(out_fd, s); });
    }
    /// Writes a saved stream into the RESUMING data fd (any segmentation is fine); returns the bytes written.
    ///   mig.load(std::span<const std::byte>(image)).value();
    [[nodiscard]] result<std::uint64_t> load(std::span<const std::byte> bytes) {
        if (state_ != state::resuming) return no_session("write", state_, "load() needs RESUMING");
        if (!data_) return no_session("write", state_, "no data fd: the session's fd was released");
        if (auto r = write_all(data_.get(), bytes); !r)
            return std::move(r.error()).with("state", static_cast<std::uint64_t>(state_)).about(name_);
        return static_cast<std::uint64_t>(bytes.size());
    }
    /// load() from a file, pipe or socket, read to its end: `mig.load_from(in_fd).value();`
    [[nodiscard]] result<std::uint64_t> load_from(int in_fd) {
        if (state_ != state::resuming) return no_session("write", state_, "load() needs RESUMING");
        std::array<std::byte, 4096> buf;
        std::uint64_t total = 0;
        for (;;) {
            ssize_t n = ::read(in_fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return error{"read", "in_fd", errno, "reading the saved stream failed", error_origin::kernel}
                                  .with("bytes", total)
                                  .about(name_);
            if (n == 0) return total;
            auto r = load(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
            if (!r) return std::move(r.error()).with("bytes", total);
            total += *r;
        }
    }

private:
    // vfio_mig_get_next_state()'s vfio_from_fsm_table, indexed by the uapi values (ERROR 0 .. PRE_COPY_P2P 7).
    [[nodiscard]] static constexpr state table(state from, state to) noexcept {
        constexpr state E = state::error, S = state::stop, R = state::running, SC = state::stop_copy,
                        RS = state::resuming, RP = state::running_p2p, PC = state::pre_copy, PP = state::pre_copy_p2p;
        //  to:     ERROR STOP RUNNING STOP_COPY RESUMING RUNNING_P2P PRE_COPY PRE_COPY_P2P
        constexpr state t[8][8] = {
            {E, E, E, E, E, E, E, E},             // from ERROR
            {E, S, RP, SC, RS, RP, RP, RP},       // from STOP
            {E, RP, R, RP, RP, RP, PC, RP},       // from RUNNING
            {E, S, S, SC, S, S, E, E},            // from STOP_COPY
            {E, S, S, S, RS, S, S, S},            // from RESUMING
            {E, S, R, S, S, RP, R, PP},           // from RUNNING_P2P
            {E, R, R, PP, R, R, PC, PP},          // from PRE_COPY
            {E, RP, RP, SC, RP, RP, PC, PP},      // from PRE_COPY_P2P
        };
        auto f = static_cast<std::uint32_t>(from), o = static_cast<std::uint32_t>(to);
        return f < 8 && o < 8 ? t[f][o] : E;
    }

    [[nodiscard]] error arc_error(state from, state to) const {
        std::string_view why = "not one FSM arc for this device's flags: move_to() walks the kernel's combination path";
        if (to == state::error) why = "ERROR cannot be requested (VFIO_DEVICE_RESET leaves it)";
        else if (!supports(flags_, to)) why = "the device does not have this state (its VFIO_DEVICE_FEATURE_MIGRATION flags)";
        else if (from == state::error) why = "the device is in ERROR: only VFIO_DEVICE_RESET leaves it";
        else if (from == state::stop_copy && (to == state::pre_copy || to == state::pre_copy_p2p))
            why = "STOP_COPY -> PRE_COPY and PRE_COPY_P2P are not permitted (linux/vfio.h)";
        return detail::refuse(uapi::vfio::device_feature.name, "device_state", EINVAL, why)
            .with("from", static_cast<std::uint64_t>(from))
            .with("to", static_cast<std::uint64_t>(to))
            .with("flags", flags_.bits())
            .about(name_);
    }
    [[nodiscard]] result<void> issue_arc(state to) {
        const state from = state_;
        auto req = wire::vfio::feature_set(uapi::vfio_device_feature_mig_state{to, -1});
        auto r = io::submit(fd_, req, hook_);
        if (!r) {
            auto e = std::move(r.error())
                         .with("from", static_cast<std::uint64_t>(from))
                         .with("to", static_cast<std::uint64_t>(to))
                         .about(name_);
            e.field = "device_state";
            if (!query_state()) state_ = state::error;  // unknown: refuse everything until query_state() works
            if (!in_saving_group(state_) && state_ != state::resuming) data_.reset();
            return e;
        }
        state_ = to;
        if (*r) data_ = std::move(*r);  // a new session replaces the old one
        else if (!in_saving_group(to) && to != state::resuming) data_.reset();  // the session ended
        return {};
    }
    [[nodiscard]] error no_session(std::string_view op, state s, std::string_view why) const {
        return detail::refuse(op, "data_fd", EINVAL, why).with("state", static_cast<std::uint64_t>(s)).about(name_);
    }
    [[nodiscard]] error io_error(std::string_view op, int code, std::uint64_t done) const {
        return error{op, "data_fd", code, {}, error_origin::kernel}
            .with("state", static_cast<std::uint64_t>(state_))
            .with("bytes", done)
            .about(name_);
    }
    [[nodiscard]] static result<void> write_all(int fd, std::span<const std::byte> s) {
        while (!s.empty()) {
            ssize_t n = ::write(fd, s.data(), s.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return error{"write", "data_fd", errno, {}, error_origin::kernel}.with("left", s.size());
            if (n == 0) return error{"write", "data_fd", EIO, "write() wrote nothing", error_origin::kernel}.with("left", s.size());
            s = s.subspan(static_cast<std::size_t>(n));
        }
        return {};
    }

    io::ioctl_hook hook_{};
    std::string name_;
    int fd_ = -1;
    flags_type flags_{};
    state state_ = state::error;
    bool precopy_v2_ = false;
    unique_fd data_;
};

/// A DMA logging session (VFIO_DEVICE_FEATURE_DMA_LOGGING_START .. STOP) of one device (borrowed fd); move-only;
/// STOP on destruction.
///   std::array<uapi::vfio_device_feature_dma_logging_range, 1> r{{{0x100000, 64 << 20}}};
///   auto log = vfiopp::dma_logging::start(dev, r, 4096).value();
///   std::vector<std::uint64_t> bits(log.bitmap_words(64 << 20)); log.report(0x100000, 64 << 20, bits).value();
class dma_logging {
public:
    using range = uapi::vfio_device_feature_dma_logging_range;
    dma_logging() noexcept = default;
    dma_logging(const dma_logging&) = delete;
    dma_logging& operator=(const dma_logging&) = delete;
    dma_logging(dma_logging&& o) noexcept
        : hook_(o.hook_), name_(std::move(o.name_)), fd_(std::exchange(o.fd_, -1)), page_size_(o.page_size_) {}
    dma_logging& operator=(dma_logging&& o) noexcept {
        if (this != &o) {
            (void)stop();
            hook_ = o.hook_;
            name_ = std::move(o.name_);
            fd_ = std::exchange(o.fd_, -1);
            page_size_ = o.page_size_;
        }
        return *this;
    }
    ~dma_logging() { (void)stop(); }

    /// DMA_LOGGING_START over ranges (non-empty, page_size-aligned, not overlapping, not wrapping) with page_size
    /// (a power of two) as the hint; page_size() is then the size the device chose.
    ///   auto log = vfiopp::dma_logging::start(dev, ranges, 4096).value();
    [[nodiscard]] static result<dma_logging> start(const device& dev, std::span<const range> ranges, std::uint64_t page_size,
                                                   io::ioctl_hook hook = {}) {
        return start(dev.fd(), ranges, page_size, hook, dev.name());
    }
    /// As above over a plain device fd: `dma_logging::start(fd, ranges, 4096, {}, "mtty0")`.
    [[nodiscard]] static result<dma_logging> start(int device_fd, std::span<const range> ranges, std::uint64_t page_size,
                                                   io::ioctl_hook hook = {}, std::string_view name = {}) {
        constexpr std::string_view ioctl = uapi::vfio::device_feature.name;
        if (ranges.empty()) return detail::refuse(ioctl, "num_ranges", EINVAL, "DMA logging needs at least one range").about(name);
        if (ranges.size() > UINT32_MAX) return detail::refuse(ioctl, "num_ranges", E2BIG, "too many ranges").about(name);
        if (page_size == 0 || (page_size & (page_size - 1)) != 0)
            return detail::refuse(ioctl, "page_size", EINVAL, "the page size must be a power of two")
                .with("page_size", page_size)
                .about(name);
        for (std::size_t i = 0; i < ranges.size(); ++i) {
            const auto& r = ranges[i];
            if (r.length == 0 || r.iova % page_size || r.length % page_size)
                return detail::refuse(ioctl, "ranges", EINVAL, "a range must be non-empty and page_size-aligned")
                    .with("index", i)
                    .with("iova", r.iova)
                    .with("length", r.length)
                    .about(name);
            if (r.iova + r.length < r.iova)
                return detail::refuse(ioctl, "ranges", EOVERFLOW, "a range wraps around the IOVA space")
                    .with("index", i)
                    .with("iova", r.iova)
                    .with("length", r.length)
                    .about(name);
            for (std::size_t j = 0; j < i; ++j)
                if (r.iova < ranges[j].iova + ranges[j].length && ranges[j].iova < r.iova + r.length)
                    return detail::refuse(ioctl, "ranges", EINVAL, "ranges overlap").with("index", i).with("iova", r.iova).about(name);
        }
        uapi::vfio_device_feature_dma_logging_control c{};
        c.page_size = page_size;
        c.num_ranges = static_cast<std::uint32_t>(ranges.size());
        c.ranges = reinterpret_cast<std::uintptr_t>(ranges.data());
        auto req = wire::vfio::feature_set(c);
        if (auto r = io::submit(device_fd, req, hook); !r) {
            auto e = r.error().with("num_ranges", ranges.size()).with("page_size", page_size).about(name);
            if (e.code == ENOTTY) e.advise("the device has no DMA logging (no log_ops in its driver)");
            return e;
        }
        dma_logging s;
        s.hook_ = hook;
        s.name_ = name;
        s.fd_ = device_fd;
        s.page_size_ = req.read<uapi::vfio_device_feature_dma_logging_control>(sizeof(uapi::vfio_device_feature)).page_size;
        return s;
    }

    /// Whether the session is running (STOP not yet issued): `if (log) ...`.
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// The page size the device chose at START: `log.page_size() == 4096`.
    [[nodiscard]] std::uint64_t page_size() const noexcept { return page_size_; }
    /// u64 words a report of length bytes at page_size needs: `std::vector<u64> bits(log.bitmap_words(len));`
    [[nodiscard]] static constexpr std::uint64_t bitmap_words(std::uint64_t length, std::uint64_t page_size) noexcept {
        if (page_size == 0) return 0;
        std::uint64_t pages = length / page_size + (length % page_size != 0);
        return pages / 64 + (pages % 64 != 0);
    }
    [[nodiscard]] std::uint64_t bitmap_words(std::uint64_t length) const noexcept { return bitmap_words(length, page_size_); }

    /// DMA_LOGGING_REPORT of [iova, iova + length) at page_size (a power of two >= 4096) into bitmap (bit n: page
    /// n was written by the device), which it zeroes first (the kernel only sets bits); reading clears the log.
    ///   log.report(0x100000, 64 << 20, 4096, bits).value();
    [[nodiscard]] result<void> report(std::uint64_t iova, std::uint64_t length, std::uint64_t page_size,
                                      std::span<std::uint64_t> bitmap) {
        constexpr std::string_view ioctl = uapi::vfio::device_feature.name;
        if (fd_ < 0) return detail::refuse(ioctl, "device", EINVAL, "DMA logging is not started").about(name_);
        if (page_size < 4096 || (page_size & (page_size - 1)) != 0)
            return detail::refuse(ioctl, "page_size", EINVAL, "the report page size must be a power of two >= 4096")
                .with("page_size", page_size)
                .about(name_);
        if (length == 0) return detail::refuse(ioctl, "length", EINVAL, "an empty range").about(name_);
        if (iova + length < iova)
            return detail::refuse(ioctl, "length", EOVERFLOW, "the range wraps").with("iova", iova).with("length", length).about(name_);
        if (bitmap.size() < bitmap_words(length, page_size))
            return detail::refuse(ioctl, "bitmap", EINVAL, "the bitmap is smaller than one bit per page of the range")
                .with("words", bitmap.size())
                .with("needed", bitmap_words(length, page_size))
                .about(name_);
        for (auto& w : bitmap) w = 0;
        uapi::vfio_device_feature_dma_logging_report p{};
        p.iova = iova;
        p.length = length;
        p.page_size = page_size;
        p.bitmap = reinterpret_cast<std::uintptr_t>(bitmap.data());
        using traits = wire::vfio::feature_traits<uapi::vfio_device_feature_dma_logging_report>;
        auto req = detail::make_feature_request<uapi::vfio_device_feature_dma_logging_report, traits::get_returns>(
            uapi::device_feature_flag::get, &p);
        if (auto r = io::submit(fd_, req, hook_); !r) return r.error().with("iova", iova).with("length", length).about(name_);
        return {};
    }
    /// report() at the page size the device chose: `log.report(iova, len, bits).value();`
    [[nodiscard]] result<void> report(std::uint64_t iova, std::uint64_t length, std::span<std::uint64_t> bitmap) {
        return report(iova, length, page_size_, bitmap);
    }
    /// DMA_LOGGING_STOP now (the destructor does it otherwise); a no-op when stopped: `log.stop().value();`
    [[nodiscard]] result<void> stop() {
        if (fd_ < 0) return {};
        int fd = std::exchange(fd_, -1);
        if (auto r = io::submit(fd, wire::vfio::feature_set(wire::vfio::dma_logging_stop{}), hook_); !r)
            return r.error().about(name_);
        return {};
    }

private:
    io::ioctl_hook hook_{};
    std::string name_;
    int fd_ = -1;  // borrowed; -1 when stopped
    std::uint64_t page_size_ = 0;
};

}  // namespace vfiopp
