// Shared by the VM objects tests (objects_test.cpp, objects_*_test.cpp: one program, one boot per configuration):
// the testbed's environment, leak accounting, edu's registers and a few helpers. Everything is in namespace vmtest.
#pragma once

#include <vfiopp/device.hpp>
#include <vfiopp/dma_space.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/region.hpp>

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>

#include <dirent.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vmtest {
using namespace vfiopp;
using vfiopp::uapi::pci_irq_index;
using vfiopp::uapi::pci_region_index;

inline std::vector<std::string> env_list(const char* name) {
    std::vector<std::string> out;
    const char* v = std::getenv(name);
    std::string s = v ? v : "";
    for (std::size_t pos = 0; pos < s.size();) {
        auto end = s.find(' ', pos);
        if (end == std::string::npos) end = s.size();
        if (end > pos) out.push_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

inline bool has_iommufd() { return !env_list("VFIOPP_EDU_CDEVS").empty(); }
inline std::vector<backend> backends() {
    std::vector<backend> b{backend::type1};
    if (has_iommufd()) b.push_back(backend::iommufd);
    return b;
}
inline const char* name_of(backend b) { return b == backend::type1 ? "type1" : b == backend::iommufd ? "iommufd" : "automatic"; }

// The library's error as text, for Catch2's messages.
template <typename R>
std::string text(const R& r) {
    return r ? std::string("ok") : fmt::format("{}", r.error());
}
#define REQUIRE_OK(expr)                                 \
    do {                                                 \
        auto&& _r = (expr);                              \
        INFO(#expr << ": " << text(_r));                 \
        REQUIRE(_r.has_value());                         \
    } while (0)

// ---- what a process holds, counted from /proc and the kernel's accounting ----
struct footprint {
    std::size_t fds = 0, maps = 0;
    long locked_kb = 0, pinned_kb = 0;  // VmLck (type1's mm->locked_vm), VmPin (mm->pinned_vm)
    friend bool operator==(const footprint&, const footprint&) = default;
};
inline std::ostream& operator<<(std::ostream& os, const footprint& f) {
    return os << "{fds " << f.fds << ", maps " << f.maps << ", VmLck " << f.locked_kb << " kB, VmPin " << f.pinned_kb << " kB}";
}
inline footprint measure() {
    footprint f;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ++f.fds;
        closedir(d);
        --f.fds;  // the DIR's own fd
    }
    // Mappings of a file or device (inode != 0): BAR mmaps, io_uring rings, dma-bufs, the program's own image.
    // Anonymous mappings are not counted: the allocator (and ASan's, in the sanitized build) maps and keeps them.
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
        std::istringstream in(line);
        std::string range, perms, offset, dev;
        unsigned long inode = 0;
        if (in >> range >> perms >> offset >> dev >> inode && inode != 0) ++f.maps;
    }
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmLck:", 0) == 0) f.locked_kb = std::strtol(line.c_str() + 6, nullptr, 10);
        if (line.rfind("VmPin:", 0) == 0) f.pinned_kb = std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return f;
}

// ---- edu (QEMU's educational device): registers in BAR0 ----
enum : std::uint32_t {
    edu_id = 0x00, edu_liveness = 0x04, edu_irq_status = 0x24, edu_irq_raise = 0x60, edu_irq_ack = 0x64,
    edu_dma_src = 0x80, edu_dma_dst = 0x88, edu_dma_count = 0x90, edu_dma_cmd = 0x98, edu_buffer = 0x40000,
    edu_cmd_start = 1, edu_cmd_to_ram = 2, edu_cmd_irq = 4,
};
constexpr std::uint64_t MiB = 1u << 20;

// One edu DMA through the region object, waited for; an error when the device never finishes.
inline result<void> edu_dma(region& bar, std::uint64_t src, std::uint64_t dst, std::uint64_t count, std::uint64_t cmd) {
    if (auto r = bar.write<std::uint64_t>(edu_dma_src, src); !r) return r;
    if (auto r = bar.write<std::uint64_t>(edu_dma_dst, dst); !r) return r;
    if (auto r = bar.write<std::uint64_t>(edu_dma_count, count); !r) return r;
    if (auto r = bar.write<std::uint64_t>(edu_dma_cmd, cmd | edu_cmd_start); !r) return r;
    for (int i = 0; i < 5000; ++i) {
        auto c = bar.read<std::uint64_t>(edu_dma_cmd);
        if (!c) return c.error();
        if (!(*c & edu_cmd_start)) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return detail::refuse("edu", "dma_cmd", ETIMEDOUT, "the edu DMA never completed");
}
// Page-aligned anonymous memory (mappings need page-aligned addresses; a std::vector's data is not).
struct page_buffer {
    std::uint8_t* p = nullptr;
    std::size_t n = 0;
    explicit page_buffer(std::size_t size) : n(size) {
        void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p = m == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(m);
    }
    page_buffer(const page_buffer&) = delete;
    page_buffer& operator=(const page_buffer&) = delete;
    ~page_buffer() {
        if (p) munmap(p, n);
    }
    std::uint8_t* data() const { return p; }
};

inline bool wait_eventfd(int efd, int ms) {
    pollfd p{efd, POLLIN, 0};
    std::uint64_t n = 0;
    return poll(&p, 1, ms) == 1 && read(efd, &n, sizeof n) == static_cast<ssize_t>(sizeof n) && n > 0;
}

// Bus Master + Memory Space through the config region (pwrite: config space is never mmapped).
inline result<void> enable_bus_master(device& dev) {
    auto cfg = dev.region(pci_region_index::config);
    if (!cfg) return cfg.error();
    auto cmd = cfg->read<std::uint16_t>(4);
    if (!cmd) return cmd.error();
    return cfg->write<std::uint16_t>(4, static_cast<std::uint16_t>(*cmd | 0x6));
}

}  // namespace vmtest
