// VM tests of the io_uring submitter (issue 12, io/uring.hpp) with real devices, on every testbed kernel and
// backend: MSI and INTx completions through the ring among 32 eventfds waited on at once; config reads through the
// ring equal pread, also 64 of them through a ring of 4 (a full ring loses nothing); a 4 KiB DMA map offloaded
// through the ring (worker thread + IORING_OP_MSG_RING), verified by an edu DMA, and its unmap; cancellation of a
// wait on a device eventfd. The mtty migration streamed through the ring is in objects_migration_test.cpp.
#include <vfiopp/dma_space.hpp>
#include <vfiopp/interrupts.hpp>
#include <vfiopp/io/uring.hpp>
#include <vfiopp/region.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/vfio.hpp>

#include "objects_support.hpp"

#include <catch2/catch_test_macros.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

namespace {
using namespace vmtest;
using namespace std::chrono_literals;

// Every completion of the ring until `n` arrived or 5 s passed, by tag.
std::map<std::uint64_t, io::completion> collect(io::uring& ring, std::size_t n) {
    std::map<std::uint64_t, io::completion> got;
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (got.size() < n && std::chrono::steady_clock::now() < end) {
        auto r = ring.wait([&](io::completion&& c) { got.emplace(c.tag, std::move(c)); }, 1, 200ms);
        if (!r) {
            FAIL_CHECK("wait: " << r.error());
            break;
        }
    }
    return got;
}

}  // namespace

TEST_CASE("vm: uring: MSI and INTx completions arrive through the ring among 32 eventfds waited on at once",
          "[uring]") {
    auto edu = env_list("VFIOPP_EDU");
    REQUIRE(!edu.empty());
    for (backend b : backends()) {
        DYNAMIC_SECTION("backend " << name_of(b)) {
            footprint before = measure();
            {
                auto space = dma_space::open(b);
                REQUIRE_OK(space);
                auto dev = space->open_device(edu[0]);
                REQUIRE_OK(dev);
                auto bar = dev->region(pci_region_index::bar0);
                REQUIRE_OK(bar);
                REQUIRE_OK(bar->map());
                REQUIRE_OK(enable_bus_master(*dev));
                auto ring = io::uring::create(64, 0);  // no ioctls here: no worker thread
                REQUIRE_OK(ring);

                auto msi = dev->interrupts(pci_irq_index::msi);
                REQUIRE_OK(msi);
                REQUIRE_OK(msi->enable(1u));
                // 31 eventfds of our own (as a VMM's ioeventfds would be) and the MSI vector's: 32 waits at once
                std::vector<unique_fd> own;
                for (int i = 0; i < 31; ++i) own.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
                REQUIRE_OK(ring->wait_eventfd(100, msi->eventfd(0)));
                for (int i = 0; i < 31; ++i) REQUIRE_OK(ring->wait_eventfd(static_cast<std::uint64_t>(i), own[i].get()));
                REQUIRE_OK(ring->submit());
                CHECK(ring->in_flight() == 32);
                // nothing has fired yet
                auto early = ring->poll([](io::completion&&) { FAIL_CHECK("a completion before any signal"); });
                REQUIRE_OK(early);
                CHECK(*early == 0);
                // the device raises its MSI: exactly that completion arrives, counter 1
                REQUIRE_OK(bar->write<std::uint32_t>(edu_irq_raise, 0x1));
                auto got = collect(*ring, 1);
                REQUIRE(got.size() == 1);
                REQUIRE(got.count(100) == 1);
                CHECK(got.at(100).op == io::uring_op::eventfd);
                REQUIRE_OK(got.at(100).value);
                CHECK(*got.at(100).value == 1);
                REQUIRE_OK(bar->write<std::uint32_t>(edu_irq_ack, bar->read<std::uint32_t>(edu_irq_status).value()));
                // the 31 others, each with its own value
                for (int i = 0; i < 31; ++i) {
                    const std::uint64_t v = 1000 + static_cast<std::uint64_t>(i);
                    REQUIRE(::write(own[i].get(), &v, sizeof v) == static_cast<ssize_t>(sizeof v));
                }
                got = collect(*ring, 31);
                REQUIRE(got.size() == 31);
                for (int i = 0; i < 31; ++i) {
                    INFO("eventfd " << i);
                    REQUIRE_OK(got.at(static_cast<std::uint64_t>(i)).value);
                    CHECK(*got.at(static_cast<std::uint64_t>(i)).value == 1000 + static_cast<std::uint64_t>(i));
                }
                REQUIRE_OK(msi->disable());

                // INTx: level-triggered, masked by the kernel when it fires
                auto intx = dev->interrupts(pci_irq_index::intx);
                REQUIRE_OK(intx);
                REQUIRE_OK(intx->enable(1u));
                REQUIRE_OK(ring->wait_eventfd(200, intx->eventfd(0)));
                REQUIRE_OK(bar->write<std::uint32_t>(edu_irq_raise, 0x2));
                got = collect(*ring, 1);
                REQUIRE(got.count(200) == 1);
                REQUIRE_OK(got.at(200).value);
                CHECK(*got.at(200).value == 1);
                REQUIRE_OK(bar->write<std::uint32_t>(edu_irq_ack, 0x2));
                REQUIRE_OK(intx->unmask());

                // cancellation: a wait on the (quiet) INTx eventfd completes as cancelled, not as an error
                REQUIRE_OK(ring->wait_eventfd(300, intx->eventfd(0)));
                REQUIRE_OK(ring->submit());
                auto n = ring->cancel(300);
                REQUIRE_OK(n);
                CHECK(*n == 1);
                got = collect(*ring, 1);
                REQUIRE(got.count(300) == 1);
                CHECK(got.at(300).cancelled);
                CHECK(ring->in_flight() == 0);
                REQUIRE_OK(intx->disable());
            }
            CHECK(measure() == before);
        }
    }
}

TEST_CASE("vm: uring: config reads through the ring equal pread; 64 through a ring of 4 lose nothing", "[uring]") {
    auto edu = env_list("VFIOPP_EDU");
    REQUIRE(!edu.empty());
    for (backend b : backends()) {
        DYNAMIC_SECTION("backend " << name_of(b)) {
            auto space = dma_space::open(b);
            REQUIRE_OK(space);
            auto dev = space->open_device(edu[0]);
            REQUIRE_OK(dev);
            auto cfg = dev->region(pci_region_index::config);
            REQUIRE_OK(cfg);
            auto ring = io::uring::create(4, 0);
            REQUIRE_OK(ring);
            // one 4-byte read: the vendor/device ID, as pread gives it
            std::array<std::byte, 4> id{};
            REQUIRE_OK(ring->read(1, dev->fd(), id, cfg->offset()));
            auto got = collect(*ring, 1);
            REQUIRE(got.count(1) == 1);
            REQUIRE_OK(got.at(1).value);
            CHECK(*got.at(1).value == 4);
            std::uint32_t v = 0;
            std::memcpy(&v, id.data(), 4);
            CHECK(v == 0x11e81234);
            CHECK(v == cfg->read<std::uint32_t>(0).value());
            // 64 reads of 4 bytes each (the first 256 bytes of config space) through a ring of depth 4
            std::array<std::array<std::byte, 4>, 64> bufs{};
            for (std::uint64_t i = 0; i < 64; ++i) REQUIRE_OK(ring->read(10 + i, dev->fd(), bufs[i], cfg->offset() + 4 * i));
            CHECK(ring->pending() == 64);
            got = collect(*ring, 64);
            REQUIRE(got.size() == 64);
            std::array<std::byte, 256> pread_copy{};
            REQUIRE(::pread(dev->fd(), pread_copy.data(), pread_copy.size(), static_cast<off_t>(cfg->offset())) == 256);
            for (std::uint64_t i = 0; i < 64; ++i) {
                INFO("dword " << i);
                REQUIRE_OK(got.at(10 + i).value);
                CHECK(*got.at(10 + i).value == 4);
                CHECK(std::memcmp(bufs[i].data(), pread_copy.data() + 4 * i, 4) == 0);
            }
            CHECK(ring->pending() == 0);
        }
    }
}

TEST_CASE("vm: uring: an 8 KiB DMA map offloaded through the ring, verified by edu DMAs, then unmapped", "[uring]") {
    auto edu = env_list("VFIOPP_EDU");
    REQUIRE(!edu.empty());
    for (backend b : backends()) {
        DYNAMIC_SECTION("backend " << name_of(b)) {
            // A worker thread leaves glibc's caches behind (its stack, kept for reuse, and its malloc arena: 4
            // mappings); one ring with a worker before the count makes them part of the baseline.
            { auto warm = io::uring::create(1); REQUIRE_OK(warm); }
            footprint before = measure();
            {
                auto space = dma_space::open(b);
                REQUIRE_OK(space);
                auto dev = space->open_device(edu[0]);
                REQUIRE_OK(dev);
                auto bar = dev->region(pci_region_index::bar0);
                REQUIRE_OK(bar);
                REQUIRE_OK(bar->map());
                REQUIRE_OK(enable_bus_master(*dev));
                auto ring = io::uring::create(8);
                REQUIRE_OK(ring);
                // two pages: the device reads the first and writes it back into the second (edu's buffer is not
                // readable through the BAR)
                page_buffer page(8192);
                for (unsigned i = 0; i < 4096; ++i) page.data()[i] = static_cast<std::uint8_t>(i * 13 + 5);
                std::memset(page.data() + 4096, 0, 4096);
                constexpr std::uint64_t iova = 32 * MiB;  // below edu's 28-bit DMA mask
                const auto va = reinterpret_cast<std::uintptr_t>(page.data());
                // the map request, built as for io::submit, runs on the ring's worker
                result<void> mapped;
                if (b == backend::type1) {
                    auto req = wire::vfio::iommu_map_dma(va, iova, 8192, uapi::map_dma_flag::read | uapi::map_dma_flag::write);
                    REQUIRE_OK(req);
                    REQUIRE_OK(ring->ioctl(1, space->type1()->fd(), *req));
                    auto got = collect(*ring, 1);
                    REQUIRE(got.count(1) == 1);
                    CHECK(got.at(1).op == io::uring_op::ioctl);
                    mapped = got.at(1).reply(*req);
                } else {
                    auto req = wire::iommufd::ioas_map(space->ioas()->id(), va, 8192,
                                                       uapi::ioas_map_flag::readable | uapi::ioas_map_flag::writeable, iova);
                    REQUIRE_OK(req);
                    REQUIRE_OK(ring->ioctl(1, space->context()->fd(), *req));
                    auto got = collect(*ring, 1);
                    REQUIRE(got.count(1) == 1);
                    mapped = got.at(1).reply(*req);
                    CHECK(req->header().iova == iova);
                }
                REQUIRE_OK(mapped);
                REQUIRE_OK(edu_dma(*bar, iova, edu_buffer, 4096, 0));
                REQUIRE_OK(edu_dma(*bar, edu_buffer, iova + 4096, 4096, edu_cmd_to_ram));
                CHECK(std::memcmp(page.data(), page.data() + 4096, 4096) == 0);
                CHECK(page.data()[4096 + 1] == 18);
                // the unmap through the ring too: 4096 bytes unmapped
                if (b == backend::type1) {
                    auto req = wire::vfio::iommu_unmap_dma(iova, 8192);
                    REQUIRE_OK(req);
                    REQUIRE_OK(ring->ioctl(2, space->type1()->fd(), *req));
                    auto got = collect(*ring, 1);
                    REQUIRE(got.count(2) == 1);
                    REQUIRE_OK(got.at(2).reply(*req));
                    CHECK(req->header().size == 8192);
                } else {
                    auto req = wire::iommufd::ioas_unmap(space->ioas()->id(), iova, 8192);
                    REQUIRE_OK(req);
                    REQUIRE_OK(ring->ioctl(2, space->context()->fd(), *req));
                    auto got = collect(*ring, 1);
                    REQUIRE(got.count(2) == 1);
                    REQUIRE_OK(got.at(2).reply(*req));
                    CHECK(req->header().length == 8192);
                }
                // a second unmap of the same range through the ring: the kernel's answer, as io::submit gives it
                if (b == backend::iommufd) {
                    auto req = wire::iommufd::ioas_unmap(space->ioas()->id(), iova, 4096);
                    REQUIRE_OK(req);
                    REQUIRE_OK(ring->ioctl(3, space->context()->fd(), *req));
                    auto got = collect(*ring, 1);
                    REQUIRE(got.count(3) == 1);
                    auto r = got.at(3).reply(*req);
                    REQUIRE(!r);
                    CHECK(r.error().ioctl == "IOMMU_IOAS_UNMAP");
                    CHECK(r.error().code == ENOENT);
                }
            }
            CHECK(measure() == before);
        }
    }
}
