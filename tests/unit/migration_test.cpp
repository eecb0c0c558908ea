// vfiopp::migration and vfiopp::dma_logging over a fake kernel (an io::ioctl_hook answering VFIO_DEVICE_FEATURE and
// VFIO_MIG_GET_PRECOPY_INFO, with pipes standing in for the data transfer fds).
//
// The expected FSM is derived here from linux/vfio.h's text, not from the library: the arcs it documents for a
// device with every optional state ("The FSM takes actions on the arcs between FSM states"), reduced for a device
// without P2P ("the states behave as though the device was fully running": RUNNING_P2P is RUNNING, PRE_COPY_P2P is
// PRE_COPY) and without PRE_COPY ("Arcs touching PRE_COPY and PRE_COPY_P2P are removed"); combination paths by a
// breadth-first search under its path rules ("Select the shortest path", no saving group state inside a path unless
// the whole path stays in the one session, STOP_COPY -> PRE_COPY* not permitted), plus the kernel's own list of
// combination paths for a device with P2P and PRE_COPY (the comment of vfio_mig_get_next_state()) as literal data.
#include <vfiopp/migration.hpp>
#include <vfiopp/fmt_error.hpp>

#include "unit_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace vfiopp;
namespace ua = vfiopp::uapi;
using st = ua::device_mig_state;
using mflag = ua::migration_flag;
using flags_t = ua::bitmask<mflag>;
using u32 = std::uint32_t;
using u64 = std::uint64_t;

namespace {
using unit_support::open_fds;
using unit_support::is_open;


constexpr std::array<st, 8> all_states{st::error,       st::stop,     st::running,     st::stop_copy,
                                       st::resuming,    st::running_p2p, st::pre_copy, st::pre_copy_p2p};
const char* nm(st s) {
    static const char* n[] = {"ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P"};
    auto i = static_cast<u32>(s);
    return i < 8 ? n[i] : "?";
}
std::string path_text(st from, const std::vector<st>& p) {
    std::string s = nm(from);
    for (st x : p) s += std::string(" -> ") + nm(x);
    return s;
}

// ---- the FSM as linux/vfio.h documents it ----
using arc = std::pair<st, st>;
// "The FSM takes actions on the arcs between FSM states. The driver implements the following behavior for the
// FSM arcs:" (every optional state supported)
const std::vector<arc> documented_arcs{
    {st::running_p2p, st::stop},     {st::stop_copy, st::stop},          {st::resuming, st::stop},
    {st::pre_copy, st::running},     {st::running_p2p, st::running},     {st::pre_copy_p2p, st::running_p2p},
    {st::running, st::running_p2p},  {st::stop, st::running_p2p},        {st::running, st::pre_copy},
    {st::running_p2p, st::pre_copy_p2p}, {st::stop, st::stop_copy},      {st::pre_copy, st::pre_copy_p2p},
    {st::pre_copy_p2p, st::pre_copy}, {st::pre_copy_p2p, st::stop_copy}, {st::stop, st::resuming},
};
bool has_state(flags_t f, st s) {  // "There are 5 states to support VFIO_MIGRATION_STOP_COPY ... optional states"
    switch (s) {
        case st::stop: case st::running: case st::stop_copy: case st::resuming: return true;
        case st::running_p2p: return f.has(mflag::p2p);
        case st::pre_copy: return f.has(mflag::pre_copy);
        case st::pre_copy_p2p: return f.has(mflag::p2p) && f.has(mflag::pre_copy);
        default: return false;  // ERROR "cannot be specified as a device state"
    }
}
std::set<arc> arcs_for(flags_t f) {
    auto fold = [&](st s) {  // without P2P the P2P states behave as their fully running twins
        if (!f.has(mflag::p2p) && s == st::running_p2p) return st::running;
        if (!f.has(mflag::p2p) && s == st::pre_copy_p2p) return st::pre_copy;
        return s;
    };
    auto precopy_state = [](st s) { return s == st::pre_copy || s == st::pre_copy_p2p; };
    std::set<arc> out;
    for (auto [a, b] : documented_arcs) {
        if (!f.has(mflag::pre_copy) && (precopy_state(a) || precopy_state(b))) continue;
        st x = fold(a), y = fold(b);
        if (x != y) out.insert({x, y});
    }
    return out;
}
bool saving(st s) { return s == st::pre_copy || s == st::pre_copy_p2p || s == st::stop_copy; }
// All shortest legal paths (states after each arc); nullopt when there is none.
std::optional<std::vector<std::vector<st>>> shortest_paths(flags_t f, st from, st to) {
    if (!has_state(f, from) || !has_state(f, to)) return std::nullopt;
    if (from == st::stop_copy && (to == st::pre_copy || to == st::pre_copy_p2p)) return std::nullopt;  // "not permitted"
    if (from == to) return std::vector<std::vector<st>>{{}};
    auto arcs = arcs_for(f);
    const bool one_session = saving(from) && saving(to);
    std::vector<std::vector<st>> found;
    std::deque<std::vector<st>> q{{}};
    while (!q.empty()) {
        auto p = q.front();
        q.pop_front();
        if (!found.empty() && p.size() >= found.front().size()) break;
        st at = p.empty() ? from : p.back();
        for (auto [a, b] : arcs) {
            if (a != at || b == from || std::find(p.begin(), p.end(), b) != p.end()) continue;
            auto n = p;
            n.push_back(b);
            if (b == to) {
                found.push_back(n);
                continue;
            }
            if (saving(b) != one_session && saving(b)) continue;  // a saving state inside: only within one session
            if (one_session && !saving(b)) continue;                // the session must not end on the way
            q.push_back(n);
        }
    }
    if (found.empty()) return std::nullopt;
    return found;
}

// The combination paths vfio_mig_get_next_state()'s comment lists for a device with P2P and PRE_COPY.
const std::vector<std::vector<st>> kernel_listed{
    {st::pre_copy, st::pre_copy_p2p, st::stop_copy},
    {st::pre_copy, st::running, st::running_p2p},
    {st::pre_copy, st::running, st::running_p2p, st::stop},
    {st::pre_copy, st::running, st::running_p2p, st::stop, st::resuming},
    {st::pre_copy_p2p, st::running_p2p, st::running},
    {st::pre_copy_p2p, st::running_p2p, st::stop},
    {st::pre_copy_p2p, st::running_p2p, st::stop, st::resuming},
    {st::resuming, st::stop, st::running_p2p},
    {st::resuming, st::stop, st::running_p2p, st::pre_copy_p2p},
    {st::resuming, st::stop, st::running_p2p, st::running},
    {st::resuming, st::stop, st::running_p2p, st::running, st::pre_copy},
    {st::resuming, st::stop, st::stop_copy},
    {st::running, st::running_p2p, st::pre_copy_p2p},
    {st::running, st::running_p2p, st::stop},
    {st::running, st::running_p2p, st::stop, st::resuming},
    {st::running, st::running_p2p, st::stop, st::stop_copy},
    {st::running_p2p, st::running, st::pre_copy},
    {st::running_p2p, st::stop, st::resuming},
    {st::running_p2p, st::stop, st::stop_copy},
    {st::stop, st::running_p2p, st::pre_copy_p2p},
    {st::stop, st::running_p2p, st::running},
    {st::stop, st::running_p2p, st::running, st::pre_copy},
    {st::stop_copy, st::stop, st::resuming},
    {st::stop_copy, st::stop, st::running_p2p},
    {st::stop_copy, st::stop, st::running_p2p, st::running},
};

const std::array<flags_t, 4> flag_sets{flags_t(mflag::stop_copy), mflag::stop_copy | mflag::p2p,
                                       mflag::stop_copy | mflag::pre_copy, mflag::stop_copy | mflag::p2p | mflag::pre_copy};
std::string flags_text(flags_t f) {
    return fmt::format("STOP_COPY{}{}", f.has(mflag::p2p) ? "|P2P" : "", f.has(mflag::pre_copy) ? "|PRE_COPY" : "");
}

// ---- the fake kernel ----
constexpr u32 feat_get = static_cast<u32>(ua::device_feature_flag::get);
constexpr u32 feat_set = static_cast<u32>(ua::device_feature_flag::set);
u32 fid(ua::device_feature_id id) { return static_cast<u32>(id); }

struct call {
    unsigned long code = 0;
    u32 argsz = 0, flags = 0;  // VFIO_DEVICE_FEATURE header
    std::vector<std::byte> image;
    st to = st::error;  // MIG_DEVICE_STATE SET
    std::vector<ua::vfio_device_feature_dma_logging_range> ranges;  // DMA_LOGGING_START, copied at call time
};

struct fake_kernel {
    flags_t flags = mflag::stop_copy | mflag::p2p | mflag::pre_copy;
    st state = st::running;
    int fail_code = 0;        // the next SET fails with this errno ...
    st fail_leaves = st::error;  // ... leaving the device here
    bool migration_enotty = false;
    std::vector<call> calls;
    std::vector<std::byte> precopy_bytes, stopcopy_bytes;  // what the saving session streams
    int save_writer = -1;     // write end of the saving session's pipe (the fake's)
    int resume_reader = -1;   // read end of the resuming session's pipe (the fake's)
    u64 chosen_page_size = 8192;
    u64 set_bit = 3;          // the bit DMA_LOGGING_REPORT sets
    u32 precopy_flags = 0;

    ~fake_kernel() {
        if (save_writer >= 0) ::close(save_writer);
        if (resume_reader >= 0) ::close(resume_reader);
    }
    std::size_t sets() const {
        return static_cast<std::size_t>(std::count_if(calls.begin(), calls.end(), [](const call& c) {
            return c.code == ua::vfio::device_feature.code && (c.flags & 0xffff) == fid(ua::device_feature_id::mig_device_state) &&
                   (c.flags & feat_set);
        }));
    }
    std::vector<st> set_targets() const {
        std::vector<st> v;
        for (const auto& c : calls)
            if (c.code == ua::vfio::device_feature.code && (c.flags & 0xffff) == fid(ua::device_feature_id::mig_device_state) &&
                (c.flags & feat_set))
                v.push_back(c.to);
        return v;
    }
    io::ioctl_hook hook() { return {&fake_kernel::entry, this}; }

    static int entry(void* ctx, int fd, unsigned long code, void* arg) noexcept {
        return static_cast<fake_kernel*>(ctx)->handle(fd, code, static_cast<std::byte*>(arg));
    }
    int fail(int e) {
        errno = e;
        return -1;
    }
    int handle(int, unsigned long code, std::byte* arg) {
        call c;
        c.code = code;
        if (code == ua::vfio::mig_get_precopy_info.code) {
            ua::vfio_precopy_info pi{};
            std::memcpy(&pi, arg, sizeof pi);
            c.argsz = pi.argsz;
            calls.push_back(c);
            if (state != st::pre_copy && state != st::pre_copy_p2p) return fail(EINVAL);
            pi.initial_bytes = 24;
            pi.dirty_bytes = 5;
            pi.flags = ua::bitmask<ua::precopy_info_flag>::from_bits(precopy_flags);
            std::memcpy(arg, &pi, sizeof pi);
            return 0;
        }
        if (code != ua::vfio::device_feature.code) return fail(ENOTTY);
        std::memcpy(&c.argsz, arg, 4);
        std::memcpy(&c.flags, arg + 4, 4);
        c.image.assign(arg, arg + c.argsz);
        std::byte* data = arg + 8;
        const u32 id = c.flags & 0xffff;
        if (id == fid(ua::device_feature_id::migration)) {
            calls.push_back(c);
            if (migration_enotty) return fail(ENOTTY);
            ua::vfio_device_feature_migration m{flags};
            std::memcpy(data, &m, sizeof m);
            return 0;
        }
        if (id == fid(ua::device_feature_id::mig_device_state)) {
            ua::vfio_device_feature_mig_state m{};
            std::memcpy(&m, data, sizeof m);
            c.to = m.device_state;
            calls.push_back(c);
            if (c.flags & feat_get) {
                m = {state, -1};
                std::memcpy(data, &m, sizeof m);
                return 0;
            }
            if (fail_code) {
                state = fail_leaves;
                return fail(std::exchange(fail_code, 0));
            }
            // the fake drives only single arcs: a combination would be the library's bug
            if (!arcs_for(flags).contains({state, m.device_state})) return fail(EPROTO);
            const st from = state;
            state = m.device_state;
            int out = -1;
            if ((from == st::running && state == st::pre_copy) || (from == st::running_p2p && state == st::pre_copy_p2p) ||
                (from == st::stop && state == st::stop_copy)) {
                int p[2];
                if (::pipe2(p, O_CLOEXEC) != 0) return fail(EMFILE);
                if (saving(state) && state != st::stop_copy) ::fcntl(p[0], F_SETFL, O_NONBLOCK);  // "what is available"
                if (save_writer >= 0) ::close(save_writer);
                save_writer = p[1];
                out = p[0];
                auto& first = state == st::stop_copy ? stopcopy_bytes : precopy_bytes;
                if (!first.empty() && ::write(save_writer, first.data(), first.size()) != static_cast<ssize_t>(first.size()))
                    return fail(EIO);
            } else if (state == st::stop_copy) {  // PRE_COPY* -> STOP_COPY: the same session gets the rest
                if (!stopcopy_bytes.empty() &&
                    ::write(save_writer, stopcopy_bytes.data(), stopcopy_bytes.size()) != static_cast<ssize_t>(stopcopy_bytes.size()))
                    return fail(EIO);
            } else if (from == st::stop && state == st::resuming) {
                int p[2];
                if (::pipe2(p, O_CLOEXEC) != 0) return fail(EMFILE);
                if (resume_reader >= 0) ::close(resume_reader);
                resume_reader = p[0];
                out = p[1];
            }
            if (state == st::stop_copy && save_writer >= 0) {  // the end of the stream
                ::close(save_writer);
                save_writer = -1;
            }
            m.data_fd = out;
            std::memcpy(data, &m, sizeof m);
            return 0;
        }
        if (id == fid(ua::device_feature_id::mig_data_size)) {
            calls.push_back(c);
            ua::vfio_device_feature_mig_data_size z{96};
            std::memcpy(data, &z, sizeof z);
            return 0;
        }
        if (id == fid(ua::device_feature_id::dma_logging_start)) {
            ua::vfio_device_feature_dma_logging_control ctl{};
            std::memcpy(&ctl, data, sizeof ctl);
            c.ranges.resize(ctl.num_ranges);
            std::memcpy(c.ranges.data(), reinterpret_cast<const void*>(static_cast<std::uintptr_t>(ctl.ranges)),
                        ctl.num_ranges * sizeof(ua::vfio_device_feature_dma_logging_range));
            calls.push_back(c);
            ctl.page_size = chosen_page_size;
            std::memcpy(data, &ctl, sizeof ctl);
            return 0;
        }
        if (id == fid(ua::device_feature_id::dma_logging_report)) {
            calls.push_back(c);
            ua::vfio_device_feature_dma_logging_report r{};
            std::memcpy(&r, data, sizeof r);
            auto* bits = reinterpret_cast<u64*>(static_cast<std::uintptr_t>(r.bitmap));
            bits[set_bit / 64] |= u64{1} << (set_bit % 64);
            return 0;
        }
        calls.push_back(c);
        return 0;  // DMA_LOGGING_STOP, MIG_PRECOPY_INFOv2
    }
};

template <typename R>
std::string text_of(const R& r) {
    return r ? std::string("ok") : fmt::format("{}", r.error());
}
migration open_at(fake_kernel& k, st s) {
    k.state = s;
    auto m = migration::open(100, k.hook(), "fake0");
    INFO(text_of(m));
    REQUIRE(m.has_value());
    return std::move(*m);
}
u64 value_of(const error& e, std::string_view name) {
    for (auto& v : e.values)
        if (v.name == name) return v.value;
    return ~u64{0};
}

}  // namespace

TEST_CASE("migration: the derived FSM has the documented shape") {
    // 15 documented arcs; without P2P and PRE_COPY the six of a plain STOP_COPY device
    CHECK(arcs_for(flag_sets[3]).size() == 15);
    CHECK(arcs_for(flag_sets[0]) == std::set<arc>{{st::running, st::stop}, {st::stop, st::running}, {st::stop, st::stop_copy},
                                                  {st::stop_copy, st::stop}, {st::stop, st::resuming}, {st::resuming, st::stop}});
    CHECK(arcs_for(flag_sets[2]).contains({st::pre_copy, st::stop_copy}));   // PRE_COPY without P2P
    CHECK(!arcs_for(flag_sets[3]).contains({st::pre_copy, st::stop_copy}));  // with P2P it goes through PRE_COPY_P2P
}

TEST_CASE("migration: is_arc is the documented arc table, for every pair and every flag set") {
    for (flags_t f : flag_sets) {
        auto arcs = arcs_for(f);
        for (st a : all_states)
            for (st b : all_states) {
                INFO(flags_text(f) << ": " << nm(a) << " -> " << nm(b));
                CHECK(migration::is_arc(f, a, b) == arcs.contains({a, b}));
                CHECK(migration::supports(f, b) == has_state(f, b));
                // a single arc is its own kernel path
                if (arcs.contains({a, b})) CHECK(migration::next_state(f, a, b) == std::optional<st>(b));
            }
    }
    // no STOP_COPY flag: no migration states at all
    CHECK(!migration::is_arc(flags_t(mflag::p2p), st::running, st::running_p2p));
    CHECK(!migration::supports(flags_t{}, st::running));
}

TEST_CASE("migration: set_state issues exactly the legal arcs and refuses the rest before the ioctl") {
    for (flags_t f : flag_sets) {
        auto arcs = arcs_for(f);
        for (st a : all_states) {
            if (!has_state(f, a)) continue;
            for (st b : all_states) {
                INFO(flags_text(f) << ": set_state " << nm(a) << " -> " << nm(b));
                fake_kernel k;
                k.flags = f;
                auto m = open_at(k, a);
                CHECK(k.calls.size() == 2);  // GET MIGRATION, GET MIG_DEVICE_STATE
                CHECK(m.current() == a);
                auto r = m.set_state(b);
                if (a == b) {
                    CHECK(r.has_value());
                    CHECK(k.sets() == 0);
                } else if (arcs.contains({a, b})) {
                    INFO(text_of(r));
                    CHECK(r.has_value());
                    CHECK(k.set_targets() == std::vector<st>{b});
                    CHECK(k.calls.back().argsz == 16);
                    CHECK(m.current() == b);
                } else {
                    REQUIRE(!r);
                    CHECK(k.calls.size() == 2);  // nothing issued
                    CHECK(r.error().code == EINVAL);
                    CHECK(r.error().origin == error_origin::library);
                    CHECK(r.error().ioctl == "VFIO_DEVICE_FEATURE");
                    CHECK(r.error().field == "device_state");
                    CHECK(value_of(r.error(), "from") == static_cast<u64>(a));
                    CHECK(value_of(r.error(), "to") == static_cast<u64>(b));
                    CHECK(r.error().subject.view() == "fake0");
                    CHECK(m.current() == a);
                }
            }
        }
    }
}

TEST_CASE("migration: move_to walks the kernel's shortest path, derived from linux/vfio.h") {
    for (flags_t f : flag_sets) {
        for (st a : all_states)
            for (st b : all_states) {
                INFO(flags_text(f) << ": " << nm(a) << " => " << nm(b));
                auto expect = shortest_paths(f, a, b);
                auto lib = migration::path(f, a, b);
                REQUIRE(expect.has_value() == lib.has_value());
                if (!expect) continue;
                INFO("expected " << path_text(a, expect->front()) << " (" << expect->size() << " shortest)");
                REQUIRE(expect->size() == 1);  // the rules leave exactly one shortest path
                std::vector<st> got(lib->begin(), lib->end());
                INFO("library  " << path_text(a, got));
                CHECK(got == expect->front());

                // through the object: one SET per arc, each a single arc (the fake refuses anything else)
                fake_kernel k;
                k.flags = f;
                auto m = open_at(k, a);
                auto r = m.move_to(b);
                INFO(text_of(r));
                CHECK(r.has_value());
                CHECK(k.set_targets() == expect->front());
                CHECK(m.current() == b);
                CHECK(k.state == b);
            }
    }
    // the kernel's own list for a device with every optional state
    const flags_t all = flag_sets[3];
    for (const auto& p : kernel_listed) {
        INFO("kernel lists " << path_text(p.front(), std::vector<st>(p.begin() + 1, p.end())));
        auto lib = migration::path(all, p.front(), p.back());
        REQUIRE(lib.has_value());
        CHECK(std::vector<st>(lib->begin(), lib->end()) == std::vector<st>(p.begin() + 1, p.end()));
    }
    // blocked: STOP_COPY -> PRE_COPY*, and ERROR as either end; refused before any ioctl
    fake_kernel k;
    auto m = open_at(k, st::stop_copy);
    for (st to : {st::pre_copy, st::pre_copy_p2p, st::error}) {
        auto r = m.move_to(to);
        REQUIRE(!r);
        CHECK(r.error().code == EINVAL);
        CHECK(r.error().field == "device_state");
        CHECK(value_of(r.error(), "to") == static_cast<u64>(to));
    }
    CHECK(k.calls.size() == 2);
    // a state the device lacks
    fake_kernel k2;
    k2.flags = mflag::stop_copy;
    auto m2 = open_at(k2, st::running);
    auto r2 = m2.move_to(st::running_p2p);
    REQUIRE(!r2);
    CHECK(std::string(r2.error().message).find("does not have this state") != std::string::npos);
    CHECK(k2.calls.size() == 2);
}

TEST_CASE("migration: open reads flags and state; errors name what is missing") {
    fake_kernel k;
    auto m = open_at(k, st::running);
    CHECK(m.flags() == (mflag::stop_copy | mflag::p2p | mflag::pre_copy));
    CHECK(m.supports(st::pre_copy_p2p));
    REQUIRE(k.calls.size() == 2);
    CHECK(k.calls[0].argsz == 16);
    CHECK(k.calls[0].flags == (feat_get | fid(ua::device_feature_id::migration)));
    CHECK(k.calls[1].flags == (feat_get | fid(ua::device_feature_id::mig_device_state)));
    CHECK(m.data_fd() == -1);

    fake_kernel none;
    none.migration_enotty = true;
    auto r = migration::open(100, none.hook(), "edu");
    REQUIRE(!r);
    CHECK(r.error().code == ENOTTY);
    CHECK(std::string(r.error().message).find("no migration driver") != std::string::npos);
    CHECK(r.error().subject.view() == "edu");

    fake_kernel nostop;
    nostop.flags = flags_t(mflag::p2p);
    auto r2 = migration::open(100, nostop.hook());
    REQUIRE(!r2);
    CHECK(r2.error().code == EOPNOTSUPP);
    CHECK(nostop.calls.size() == 1);

    auto r3 = migration::open(-1);
    REQUIRE(!r3);
    CHECK(r3.error().code == EBADF);

    CHECK(m.data_size().value() == 96);
    CHECK(k.calls.back().flags == (feat_get | fid(ua::device_feature_id::mig_data_size)));
}

TEST_CASE("migration: a failed arc re-reads the state the kernel left") {
    fake_kernel k;
    auto m = open_at(k, st::running);
    k.fail_code = EIO;
    k.fail_leaves = st::error;
    auto r = m.move_to(st::stop);  // RUNNING -> RUNNING_P2P fails
    REQUIRE(!r);
    CHECK(r.error().code == EIO);
    CHECK(r.error().origin == error_origin::kernel);
    CHECK(r.error().field == "device_state");
    CHECK(value_of(r.error(), "from") == static_cast<u64>(st::running));
    CHECK(value_of(r.error(), "to") == static_cast<u64>(st::running_p2p));
    CHECK(m.current() == st::error);
    const auto n = k.calls.size();
    CHECK(!m.set_state(st::running));  // out of ERROR only by reset: refused, nothing issued
    CHECK(!m.move_to(st::running));
    CHECK(k.calls.size() == n);
    k.state = st::running;  // VFIO_DEVICE_RESET
    CHECK(m.query_state().value() == st::running);
    CHECK(m.set_state(st::running_p2p).has_value());
}

TEST_CASE("migration: the data fd is owned: kept within the saving group, closed when the session ends") {
    const int base = open_fds();
    {
        fake_kernel k;
        k.flags = mflag::stop_copy | mflag::pre_copy;  // PRE_COPY -> STOP_COPY is one arc here
        auto m = open_at(k, st::running);
        const int before = open_fds();
        REQUIRE(m.set_state(st::pre_copy).has_value());
        const int fd = m.data_fd();
        CHECK(fd >= 0);
        CHECK(is_open(fd));
        CHECK(open_fds() == before + 2);  // ours + the fake's write end
        REQUIRE(m.set_state(st::stop_copy).has_value());  // same session, no new fd
        CHECK(m.data_fd() == fd);
        CHECK(open_fds() == before + 1);  // the fake closed its end (end of stream)
        REQUIRE(m.set_state(st::stop).has_value());  // the session ended
        CHECK(m.data_fd() == -1);
        CHECK(!is_open(fd));
        CHECK(open_fds() == before);
        REQUIRE(m.set_state(st::resuming).has_value());
        CHECK(m.data_fd() >= 0);
        CHECK(open_fds() == before + 2);  // ours + the fake's read end
        auto fd2 = m.release_data_fd();
        CHECK(m.data_fd() == -1);
        CHECK(fd2.get() >= 0);
        fd2.reset();
        REQUIRE(m.set_state(st::stop).has_value());
        REQUIRE(m.set_state(st::running).has_value());
        REQUIRE(m.set_state(st::pre_copy).has_value());
        CHECK(open_fds() == before + 3);  // + fake's stale resume reader
    }  // the object closes its data fd, the fake its ends
    CHECK(open_fds() == base);
    {
        fake_kernel k;
        auto m = open_at(k, st::running);
        REQUIRE(m.move_to(st::stop_copy).has_value());  // RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY
        const int fd = m.data_fd();
        CHECK(is_open(fd));
        migration moved = std::move(m);
        CHECK(moved.data_fd() == fd);
        REQUIRE(moved.move_to(st::running).has_value());
        CHECK(!is_open(fd));
    }
    CHECK(open_fds() == base);
}

TEST_CASE("migration: save and load stream the data fd (pipes standing in)") {
    const int base = open_fds();
    std::vector<std::byte> header(24), state(10000);
    for (std::size_t i = 0; i < header.size(); ++i) header[i] = std::byte(0xa0 + i);
    for (std::size_t i = 0; i < state.size(); ++i) state[i] = std::byte(i * 7 + 1);
    {
        fake_kernel k;
        k.precopy_bytes = header;
        k.stopcopy_bytes = state;
        auto m = open_at(k, st::running);
        std::vector<std::byte> image;
        auto sink = [&](std::span<const std::byte> s) { image.insert(image.end(), s.begin(), s.end()); };
        // nothing to save outside the saving group; nothing issued
        auto r0 = m.save(sink);
        REQUIRE(!r0);
        CHECK(r0.error().code == EINVAL);
        CHECK(r0.error().field == "data_fd");
        CHECK(k.calls.size() == 2);
        CHECK(!m.precopy_info());
        CHECK(k.calls.size() == 2);

        REQUIRE(m.move_to(st::pre_copy).has_value());
        auto pi = m.precopy_info();
        REQUIRE(pi.has_value());
        CHECK(pi->initial_bytes == 24);
        CHECK(pi->dirty_bytes == 5);
        CHECK(k.calls.back().code == ua::vfio::mig_get_precopy_info.code);
        CHECK(k.calls.back().argsz == 24);
        CHECK(m.save(sink).value() == 24);  // what is available now; the rest comes in STOP_COPY
        CHECK(image == header);
        // REINIT is reported only once opted in (MIG_PRECOPY_INFOv2)
        k.precopy_flags = 1;
        CHECK(!m.precopy_info().value().reinit);
        REQUIRE(m.enable_precopy_reinit().has_value());
        CHECK(k.calls.back().argsz == 8);
        CHECK(k.calls.back().flags == (feat_set | fid(ua::device_feature_id::mig_precopy_infov2)));
        CHECK(m.precopy_info().value().reinit);

        REQUIRE(m.move_to(st::stop_copy).has_value());
        CHECK(k.set_targets() == (std::vector<st>{st::pre_copy, st::pre_copy_p2p, st::stop_copy}));
        auto n = m.save([&](std::span<const std::byte> s) -> result<void> {
            image.insert(image.end(), s.begin(), s.end());
            return {};
        });
        CHECK(n.value() == state.size());
        CHECK(image.size() == header.size() + state.size());
        CHECK(std::equal(state.begin(), state.end(), image.begin() + 24));
        CHECK(!m.precopy_info());  // STOP_COPY: refused

        // the other side: RESUMING, load, and the bytes arrive in order
        fake_kernel k2;
        auto d = open_at(k2, st::running);
        CHECK(!d.load(std::span<const std::byte>(image)));  // not RESUMING
        REQUIRE(d.move_to(st::resuming).has_value());
        CHECK(d.load(std::span<const std::byte>(image).first(10)).value() == 10);
        CHECK(d.load(std::span<const std::byte>(image).subspan(10)).value() == image.size() - 10);
        std::vector<std::byte> got(image.size() + 1);
        CHECK(::read(k2.resume_reader, got.data(), got.size()) == static_cast<ssize_t>(image.size()));
        got.resize(image.size());
        CHECK(got == image);
        REQUIRE(d.move_to(st::running).has_value());
        CHECK(d.data_fd() == -1);
    }
    {
        // save_to / load_from over pipes
        fake_kernel k;
        k.stopcopy_bytes = state;
        auto m = open_at(k, st::running);
        REQUIRE(m.move_to(st::stop_copy).has_value());
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        ::fcntl(p[1], F_SETPIPE_SZ, 1 << 16);
        CHECK(m.save_to(p[1]).value() == state.size());
        ::close(p[1]);
        fake_kernel k2;
        auto d = open_at(k2, st::stop);
        REQUIRE(d.set_state(st::resuming).has_value());
        CHECK(d.load_from(p[0]).value() == state.size());
        ::close(p[0]);
        std::vector<std::byte> got(state.size());
        CHECK(::read(k2.resume_reader, got.data(), got.size()) == static_cast<ssize_t>(state.size()));
        CHECK(got == state);
        // a sink's error stops the copy and is returned
        fake_kernel k3;
        k3.stopcopy_bytes = state;
        auto m3 = open_at(k3, st::stop);
        REQUIRE(m3.set_state(st::stop_copy).has_value());
        auto r = m3.save([](std::span<const std::byte>) -> result<void> {
            return detail::refuse("sink", "disk", ENOSPC, "full");
        });
        REQUIRE(!r);
        CHECK(r.error().code == ENOSPC);
        // a write into a closed reader: EPIPE names write and data_fd
        REQUIRE(m3.move_to(st::resuming).has_value());
        ::close(k3.resume_reader);
        k3.resume_reader = -1;
        auto old = ::signal(SIGPIPE, SIG_IGN);
        auto w = m3.load(std::span<const std::byte>(state));
        ::signal(SIGPIPE, old);
        REQUIRE(!w);
        CHECK(w.error().code == EPIPE);
        CHECK(w.error().ioctl == "write");
        CHECK(w.error().field == "data_fd");
        REQUIRE(m3.move_to(st::stop).has_value());
    }
    CHECK(open_fds() == base);
}

TEST_CASE("dma_logging: START, REPORT and STOP images; STOP once on drop") {
    using range = ua::vfio_device_feature_dma_logging_range;
    fake_kernel k;
    const std::array<range, 2> ranges{{{0x100000, 0x10000}, {0x400000, 0x2000}}};
    {
        auto log = dma_logging::start(100, ranges, 4096, k.hook(), "fake0");
        INFO(text_of(log));
        REQUIRE(log.has_value());
        REQUIRE(k.calls.size() == 1);
        const auto& s = k.calls[0];
        CHECK(s.argsz == 8 + 24);
        CHECK(s.flags == (feat_set | fid(ua::device_feature_id::dma_logging_start)));
        ua::vfio_device_feature_dma_logging_control ctl{};
        std::memcpy(&ctl, s.image.data() + 8, sizeof ctl);
        CHECK(ctl.page_size == 4096);
        CHECK(ctl.num_ranges == 2);
        CHECK(ctl.ranges == reinterpret_cast<std::uintptr_t>(ranges.data()));
        REQUIRE(s.ranges.size() == 2);
        CHECK(s.ranges[1].iova == 0x400000);
        CHECK(s.ranges[1].length == 0x2000);
        CHECK(log->page_size() == 8192);  // the size the device chose

        std::vector<u64> bits(2, ~u64{0});  // garbage: report() zeroes first
        CHECK(dma_logging::bitmap_words(0x10000, 4096) == 1);
        CHECK(dma_logging::bitmap_words(65 * 4096, 4096) == 2);
        REQUIRE(log->report(0x100000, 0x10000, 4096, bits).has_value());
        const auto& r = k.calls.back();
        CHECK(r.argsz == 8 + 32);
        CHECK(r.flags == (feat_get | fid(ua::device_feature_id::dma_logging_report)));
        ua::vfio_device_feature_dma_logging_report rep{};
        std::memcpy(&rep, r.image.data() + 8, sizeof rep);
        CHECK(rep.iova == 0x100000);
        CHECK(rep.length == 0x10000);
        CHECK(rep.page_size == 4096);
        CHECK(rep.bitmap == reinterpret_cast<std::uintptr_t>(bits.data()));
        CHECK(bits[0] == u64{1} << 3);
        CHECK(bits[1] == 0);
        REQUIRE(log->report(0x100000, 0x10000, bits).has_value());  // at the chosen 8192
        std::memcpy(&rep, k.calls.back().image.data() + 8, sizeof rep);
        CHECK(rep.page_size == 8192);

        // refused before the ioctl
        const auto n = k.calls.size();
        std::vector<u64> small(1);
        auto e1 = log->report(0, 65 * 4096, 4096, small);
        REQUIRE(!e1);
        CHECK(e1.error().field == "bitmap");
        CHECK(value_of(e1.error(), "needed") == 2);
        CHECK(log->report(0, 4096, 2048, bits).error().field == "page_size");
        CHECK(log->report(0, 4096, 12288, bits).error().field == "page_size");
        CHECK(log->report(0, 0, 4096, bits).error().field == "length");
        CHECK(log->report(~u64{0} - 4095, 8192, 4096, bits).error().code == EOVERFLOW);
        CHECK(k.calls.size() == n);

        dma_logging moved = std::move(*log);
        CHECK(!*log);
        CHECK(moved);
    }  // moved's destructor: STOP; the moved-from one: nothing
    auto stops = std::count_if(k.calls.begin(), k.calls.end(), [](const call& c) {
        return (c.flags & 0xffff) == fid(ua::device_feature_id::dma_logging_stop);
    });
    CHECK(stops == 1);
    CHECK(k.calls.back().argsz == 8);
    CHECK(k.calls.back().flags == (feat_set | fid(ua::device_feature_id::dma_logging_stop)));

    {
        auto log = dma_logging::start(100, ranges, 4096, k.hook());
        REQUIRE(log.has_value());
        REQUIRE(log->stop().has_value());
        CHECK(!*log);
        CHECK(log->stop().has_value());  // no-op
        std::vector<u64> bits(1);
        CHECK(log->report(0x100000, 4096, 4096, bits).error().code == EINVAL);
    }
    stops = std::count_if(k.calls.begin(), k.calls.end(), [](const call& c) {
        return (c.flags & 0xffff) == fid(ua::device_feature_id::dma_logging_stop);
    });
    CHECK(stops == 2);

    // START refusals: nothing issued
    const auto n = k.calls.size();
    auto field_of = [&](std::span<const range> rs, u64 pg) {
        auto r = dma_logging::start(100, rs, pg, k.hook());
        return r ? std::string("ok") : std::string(r.error().field) + "/" + std::to_string(r.error().code);
    };
    CHECK(field_of({}, 4096) == "num_ranges/" + std::to_string(EINVAL));
    CHECK(field_of(ranges, 0) == "page_size/" + std::to_string(EINVAL));
    CHECK(field_of(ranges, 3000) == "page_size/" + std::to_string(EINVAL));
    const std::array<range, 1> misaligned{{{0x100800, 0x1000}}};
    CHECK(field_of(misaligned, 4096) == "ranges/" + std::to_string(EINVAL));
    const std::array<range, 1> empty{{{0x100000, 0}}};
    CHECK(field_of(empty, 4096) == "ranges/" + std::to_string(EINVAL));
    const std::array<range, 2> overlap{{{0x100000, 0x3000}, {0x102000, 0x1000}}};
    CHECK(field_of(overlap, 4096) == "ranges/" + std::to_string(EINVAL));
    const std::array<range, 1> wraps{{{~u64{0} - 0xfff, 0x2000}}};
    CHECK(field_of(wraps, 4096) == "ranges/" + std::to_string(EOVERFLOW));
    CHECK(k.calls.size() == n);
}
