// examples/vfio-trace/memory.hpp - reading a stopped tracee's memory (process_vm_readv).
//
// process_vm_readv stops at the first remote page it cannot read, so reads are split at page boundaries: a
// string near the end of a mapping, or an argsz larger than what is mapped, yields what is readable and says so.
// Kernels built without process_vm_readv (ENOSYS) are read through /proc/TID/mem or PTRACE_PEEKDATA.
#pragma once

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace vfio_trace {

/// Bytes read from a tracee; `complete` is false when fewer than asked could be read (then `err` is the errno).
struct remote_bytes {
    std::vector<std::byte> bytes;
    bool complete = false;
    int err = 0;
};

inline std::size_t page_size() {
    static const std::size_t p = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return p;
}

namespace detail {

/// One contiguous piece within a page: process_vm_readv, else /proc/TID/mem (a kernel without
/// CONFIG_CROSS_MEMORY_ATTACH, such as the test guest's tinyconfig build, answers ENOSYS), else PTRACE_PEEKDATA.
inline ssize_t read_piece(pid_t tid, std::uint64_t at, std::byte* to, std::size_t n) {
    static bool have_vm_readv = true;
    if (have_vm_readv) {
        iovec local{to, n};
        iovec remote{reinterpret_cast<void*>(static_cast<std::uintptr_t>(at)), n};
        ssize_t got = ::process_vm_readv(tid, &local, 1, &remote, 1, 0);
        if (got >= 0 || errno != ENOSYS) return got;
        have_vm_readv = false;
    }
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/mem", static_cast<int>(tid));
    if (int fd = ::open(path, O_RDONLY | O_CLOEXEC); fd >= 0) {
        ssize_t got = ::pread(fd, to, n, static_cast<off_t>(at));
        int e = errno;
        ::close(fd);
        errno = e;
        if (got >= 0 || errno == EIO || errno == EFAULT) return got;
    }
    std::size_t done = 0;  // word by word; the tracee is stopped, so the words are consistent
    while (done < n) {
        std::uint64_t word_at = (at + done) & ~std::uint64_t{7};
        errno = 0;
        long w = ::ptrace(PTRACE_PEEKDATA, tid, reinterpret_cast<void*>(static_cast<std::uintptr_t>(word_at)), nullptr);
        if (errno != 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
        std::size_t skip = static_cast<std::size_t>(at + done - word_at);
        std::size_t take = std::min(n - done, sizeof w - skip);
        std::memcpy(to + done, reinterpret_cast<const std::byte*>(&w) + skip, take);
        done += take;
    }
    return static_cast<ssize_t>(done);
}

}  // namespace detail

/// A stand-in for the tracee's memory (tests/fuzz/trace_render_fuzz.cpp feeds arbitrary bytes through it); nullptr,
/// the default, reads the tracee. Same contract as detail::read_piece: at most n bytes at `at`, within one page;
/// returns how many were read, or -1 with errno set.
using piece_reader = ssize_t (*)(pid_t tid, std::uint64_t at, std::byte* to, std::size_t n);
inline piece_reader remote_reader = nullptr;

/// Reads up to `n` bytes at `addr` in `tid`'s address space, page by page. The buffer grows with what is read: a
/// bogus argsz (up to max_image) over a few mapped bytes costs those bytes, not n.
inline remote_bytes read_remote(pid_t tid, std::uint64_t addr, std::size_t n) {
    remote_bytes r;
    std::size_t done = 0;
    while (done < n) {
        std::uint64_t at = addr + done;
        std::size_t chunk = std::min(n - done, page_size() - static_cast<std::size_t>(at % page_size()));
        r.bytes.resize(done + chunk);
        ssize_t got = remote_reader ? remote_reader(tid, at, r.bytes.data() + done, chunk)
                                    : detail::read_piece(tid, at, r.bytes.data() + done, chunk);
        if (got <= 0) {
            r.err = got < 0 ? errno : EFAULT;
            break;
        }
        done += static_cast<std::size_t>(got);
    }
    r.bytes.resize(done);
    r.complete = done == n;
    return r;
}

/// Reads the NUL-terminated string at `addr` (at most `max` bytes) into `out`; false when no NUL was found in the
/// readable bytes (`out` then holds what was read).
inline bool read_remote_string(pid_t tid, std::uint64_t addr, std::size_t max, std::string& out) {
    out.clear();
    while (out.size() < max) {
        std::size_t chunk = std::min(max - out.size(), page_size() - static_cast<std::size_t>((addr + out.size()) % page_size()));
        auto r = read_remote(tid, addr + out.size(), chunk);
        auto* b = reinterpret_cast<const char*>(r.bytes.data());
        if (auto* nul = static_cast<const char*>(std::memchr(b, 0, r.bytes.size()))) {
            out.append(b, static_cast<std::size_t>(nul - b));
            return true;
        }
        out.append(b, r.bytes.size());
        if (!r.complete) return false;
    }
    return false;  // no NUL within max bytes
}

}  // namespace vfio_trace
