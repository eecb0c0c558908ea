// vfiopp/region.hpp - one region of a VFIO device (a BAR, config space, ROM, a vendor region).
//
//   auto bar0 = dev.region(vfiopp::uapi::pci_region_index::bar0).value();
//   bar0.map().value();                                  // mmaps every mmappable area (sparse-mmap aware)
//   bar0.write<std::uint32_t>(0x04, 0x12345678).value();  // a store through the mapping where there is one,
//   auto id = bar0.read<std::uint32_t>(0x00).value();     //   pread/pwrite on the device fd otherwise
//   auto cfg = dev.region(vfiopp::uapi::pci_region_index::config).value();
//   auto cmd = cfg.read<std::uint16_t>(0x04).value();     // config space is never mmappable: pread
//
// A region borrows its device's fd (it must go before the device) and owns its mmaps: they are unmapped when it
// goes. Its capabilities are read once, when the device makes it: the sparse-mmap areas, the type/subtype and
// whether the MSI-X table may be mapped.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace vfiopp {

/// One mmappable part of a region, as the kernel reports it (offset within the region), and where it is mapped.
struct region_area {
    std::uint64_t offset = 0;           ///< within the region
    std::uint64_t size = 0;
    volatile std::byte* mapped = nullptr;  ///< the mmap of this area, or nullptr before map()
};

/// VFIO_REGION_INFO_CAP_TYPE: the region's type and subtype (e.g. migration, IGD OpRegion, NVIDIA GPU RAM).
struct region_type {
    std::uint32_t type = 0;
    std::uint32_t subtype = 0;
    friend constexpr bool operator==(const region_type&, const region_type&) = default;
};

/// A device region; move-only; owns its mmaps.
class region {
public:
    region() noexcept = default;
    region(const region&) = delete;
    region& operator=(const region&) = delete;
    region(region&& o) noexcept { take(o); }
    region& operator=(region&& o) noexcept {
        if (this != &o) {
            unmap();
            take(o);
        }
        return *this;
    }
    /// Unmaps every mapped area (the device fd stays open: it is the device's).
    ~region() { unmap(); }

    /// VFIO_DEVICE_GET_REGION_INFO of index on device_fd with its capability chain. Usually called through
    /// device::region(). `auto r = vfiopp::region::query(dev.fd(), 0).value();`
    [[nodiscard]] static result<region> query(int device_fd, std::uint32_t index, io::ioctl_hook hook = {}) {
        auto req = wire::vfio::device_get_region_info<1024>(index);
        if (auto r = io::negotiate(device_fd, req, hook); !r) return r.error().with("index", index);
        auto chain = wire::region_info_chain::parse(req.bytes());
        if (!chain) return std::move(chain.error()).with("index", index);
        region out;
        auto h = req.header();
        out.fd_ = device_fd;
        out.index_ = index;
        out.flags_ = h.flags;
        out.size_ = h.size;
        out.offset_ = h.offset;
        if (auto t = chain->find<wire::region_type_cap>()) out.type_ = region_type{t->value.type, t->value.subtype};
        out.msix_mappable_ = chain->find<wire::msix_mappable_cap>().has_value();
        if (h.flags.has(uapi::region_info_flag::mmap)) {
            if (auto sparse = chain->find<wire::sparse_mmap_cap>()) {
                for (auto a : sparse->areas)
                    if (a.size != 0) out.areas_.push_back({a.offset, a.size, nullptr});
            } else if (h.size != 0) {
                out.areas_.push_back({0, h.size, nullptr});
            }
        }
        return out;
    }

    [[nodiscard]] std::uint32_t index() const noexcept { return index_; }
    /// Size in bytes (0: the device does not implement this region).
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    /// Offset of the region in the device fd (for the caller's own pread/mmap).
    [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
    [[nodiscard]] uapi::bitmask<uapi::region_info_flag> flags() const noexcept { return flags_; }
    [[nodiscard]] bool readable() const noexcept { return flags_.has(uapi::region_info_flag::read); }
    [[nodiscard]] bool writable() const noexcept { return flags_.has(uapi::region_info_flag::write); }
    /// The areas that may be mmapped (all of it, the sparse-mmap areas, or none).
    [[nodiscard]] std::span<const region_area> areas() const noexcept { return areas_; }
    /// VFIO_REGION_INFO_CAP_TYPE, if the region has one.
    [[nodiscard]] std::optional<region_type> type() const noexcept { return type_; }
    /// VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: the MSI-X table in this BAR may be mmapped too.
    [[nodiscard]] bool msix_mappable() const noexcept { return msix_mappable_; }

    /// mmaps every mmappable area (shared, read/write as the region allows); idempotent. An area that fails to map
    /// unmaps the ones mapped by this call and reports mmap's errno. `bar.map().value();`
    [[nodiscard]] result<void> map() {
        int prot = (readable() ? PROT_READ : 0) | (writable() ? PROT_WRITE : 0);
        for (std::size_t i = 0; i < areas_.size(); ++i) {
            auto& a = areas_[i];
            if (a.mapped != nullptr) continue;
            void* p = ::mmap(nullptr, a.size, prot, MAP_SHARED, fd_, static_cast<off_t>(offset_ + a.offset));
            if (p == MAP_FAILED) {
                error e{"mmap", "offset", errno, "the region area could not be mapped", error_origin::kernel};
                e.with("index", index_).with("offset", a.offset).with("size", a.size);
                unmap();
                return e;
            }
            a.mapped = static_cast<volatile std::byte*>(p);
        }
        return {};
    }
    /// Unmaps every area mapped by map() (the destructor does this).
    void unmap() noexcept {
        for (auto& a : areas_)
            if (a.mapped != nullptr) {
                ::munmap(const_cast<std::byte*>(a.mapped), a.size);
                a.mapped = nullptr;
            }
    }
    /// The mapping of [off, off + n) when a mapped area covers it, else nullptr: `auto* p = bar.mapped_at(0, 8);`
    [[nodiscard]] volatile std::byte* mapped_at(std::uint64_t off, std::uint64_t n) const noexcept {
        for (auto& a : areas_)
            if (a.mapped != nullptr && off >= a.offset && n <= a.size && off - a.offset <= a.size - n)
                return a.mapped + (off - a.offset);
        return nullptr;
    }

    /// Reads a 1, 2, 4 or 8 byte value at off in one access (a load from the mapping, or one pread):
    ///   auto v = bar.read<std::uint32_t>(0x24).value();
    template <typename T>
        requires(std::is_integral_v<T> && (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8))
    [[nodiscard]] result<T> read(std::uint64_t off) const {
        if (auto c = check(off, sizeof(T), "pread"); !c) return c.error();
        if (auto* p = mapped_at(off, sizeof(T))) return *reinterpret_cast<volatile const T*>(p);
        T v{};
        if (auto r = pread_all(off, std::as_writable_bytes(std::span(&v, 1))); !r) return r.error();
        return v;
    }
    /// Writes a 1, 2, 4 or 8 byte value at off in one access: `bar.write<std::uint32_t>(0x60, 1).value();`
    template <typename T>
        requires(std::is_integral_v<T> && (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8))
    [[nodiscard]] result<void> write(std::uint64_t off, std::type_identity_t<T> v) {
        if (auto c = check(off, sizeof(T), "pwrite"); !c) return c.error();
        if (auto* p = mapped_at(off, sizeof(T))) {
            *reinterpret_cast<volatile T*>(p) = v;
            return {};
        }
        return pwrite_all(off, std::as_bytes(std::span(&v, 1)));
    }
    /// Reads bytes at off (byte-wise from the mapping, or pread): `bar.read(0x40000, std::as_writable_bytes(buf));`
    [[nodiscard]] result<void> read(std::uint64_t off, std::span<std::byte> out) const {
        if (auto c = check(off, out.size(), "pread"); !c) return c.error();
        if (auto* p = mapped_at(off, out.size())) {
            for (std::size_t i = 0; i < out.size(); ++i) out[i] = p[i];
            return {};
        }
        return pread_all(off, out);
    }
    /// Writes bytes at off (byte-wise to the mapping, or pwrite).
    [[nodiscard]] result<void> write(std::uint64_t off, std::span<const std::byte> in) {
        if (auto c = check(off, in.size(), "pwrite"); !c) return c.error();
        if (auto* p = mapped_at(off, in.size())) {
            for (std::size_t i = 0; i < in.size(); ++i) p[i] = in[i];
            return {};
        }
        return pwrite_all(off, in);
    }

private:
    result<void> check(std::uint64_t off, std::uint64_t n, std::string_view op) const {
        bool want_read = op == "pread";
        if (want_read ? !readable() : !writable())
            return detail::refuse(op, "index", EINVAL, want_read ? "the region is not readable" : "the region is not writable")
                .with("index", index_);
        if (n > size_ || off > size_ - n)
            return detail::refuse(op, "offset", EINVAL, "the access reaches past the end of the region")
                .with("index", index_)
                .with("offset", off)
                .with("size", n);
        return {};
    }
    result<void> pread_all(std::uint64_t off, std::span<std::byte> out) const {
        std::size_t done = 0;
        while (done < out.size()) {
            ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset_ + off + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                return error{"pread", "offset", n < 0 ? errno : EIO, n < 0 ? std::string_view{} : "short read from the region",
                             error_origin::kernel}
                    .with("index", index_)
                    .with("offset", off + done);
            done += static_cast<std::size_t>(n);
        }
        return {};
    }
    result<void> pwrite_all(std::uint64_t off, std::span<const std::byte> in) {
        std::size_t done = 0;
        while (done < in.size()) {
            ssize_t n = ::pwrite(fd_, in.data() + done, in.size() - done, static_cast<off_t>(offset_ + off + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                return error{"pwrite", "offset", n < 0 ? errno : EIO, n < 0 ? std::string_view{} : "short write to the region",
                             error_origin::kernel}
                    .with("index", index_)
                    .with("offset", off + done);
            done += static_cast<std::size_t>(n);
        }
        return {};
    }
    void take(region& o) noexcept {
        fd_ = o.fd_;
        index_ = o.index_;
        flags_ = o.flags_;
        size_ = o.size_;
        offset_ = o.offset_;
        type_ = o.type_;
        msix_mappable_ = o.msix_mappable_;
        areas_ = std::move(o.areas_);
        o.areas_.clear();  // the mmaps are ours now
    }

    int fd_ = -1;  // borrowed: the device's
    std::uint32_t index_ = 0;
    uapi::bitmask<uapi::region_info_flag> flags_{};
    std::uint64_t size_ = 0;
    std::uint64_t offset_ = 0;
    std::optional<region_type> type_;
    bool msix_mappable_ = false;
    std::vector<region_area> areas_;
};

}  // namespace vfiopp
