// vfiopp/proposal.hpp - the 2020 vSVA proposal as objects: PASID requests and nesting ops on a VFIO container in
// either ABI, and the same operations realised on iommufd, behind one interface.
//
//   auto sup = vfiopp::proposal::probe(container).value();          // before any attempt
//   std::unique_ptr<vfiopp::proposal::vsva> s;
//   if (sup.any()) s = std::make_unique<proposal::container_backend<uapi::abi::v7>>(container);
//   else s = proposal::iommufd_backend<>::create(ctx, port, ioas.id()).value();   // a kernel of today
//   auto pasid = s->pasid_alloc({1, 1000}).value();
//   bind.hpasid = pasid; s->bind(bind).value();                      // guest stage-1 over the host stage-2
//   auto out = s->invalidate(guest_iotlb_flush);                     // out.done entries consumed
//   s->unbind(bind).value(); s->pasid_free({pasid, pasid}).value();
//
// No kernel ever merged the proposal: on every mainline kernel the container backend's ioctls answer ENOTTY, which
// the caller gets as a kernel error that not_supported() recognises. probe() says so before any attempt.
// iommufd_backend realises each operation with what the proposal became (docs/proposal.md has the field-by-field
// table): PASIDs come from a user-space table with the proposal's range, quota and 31-bit rules (iommufd has no
// host PASID allocator: the PASID a VMM attaches is its own choice); a bind allocates a nested HWPT with the
// vendor's stage-1 data on a NEST_PARENT HWPT and attaches it at the PASID (or at the RID where the device has no
// PASID forms); an unbind detaches and destroys it; an invalidation becomes IOMMU_HWPT_INVALIDATE entries, whose
// partial progress (entry_num) comes back. The vendor translation is a type parameter: vtd_translation by
// default; a test passes one for the IOMMUFD_TEST mock.
//
// Lifetimes: a backend borrows its container (or iommufd context and port) and must go first; when it goes it
// unbinds what it bound and frees the PASIDs it allocated (errors dropped; call the operations to see them).
#pragma once

#include <vfiopp/container.hpp>
#include <vfiopp/device.hpp>
#include <vfiopp/error.hpp>
#include <vfiopp/hwpt.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/nesting_rules.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vfiopp::proposal {

namespace rules = wire::rules;
using gpasid_bind = uapi::iommu_gpasid_bind_data;
using cache_info = uapi::iommu_cache_invalidate_info;

/// Whether an error is "this kernel does not implement the proposal": ENOTTY from the kernel to one of its ioctls.
///   if (auto r = s.pasid_alloc({1, 10}); !r && proposal::not_supported(r.error())) use_iommufd();
[[nodiscard]] constexpr bool not_supported(const error& e) noexcept {
    return e.origin == error_origin::kernel && e.code == ENOTTY &&
           (e.ioctl == "VFIO_IOMMU_PASID_REQUEST" || e.ioctl == "VFIO_IOMMU_NESTING_OP");
}

/// What a kernel offers of the proposal, found without allocating or binding anything.
struct support {
    bool nesting_extension = false;  ///< VFIO_CHECK_EXTENSION(VFIO_TYPE1_NESTING_IOMMU): mainline <= 6.x says 1 for
                                     ///< ARM SMMU nesting, so it is necessary, not sufficient
    std::optional<uapi::v7::iommu_nesting_info> nesting;  ///< v7 CAP_NESTING of GET_INFO, decoded, when reported
    bool v7_pasid_request = false;  ///< VFIO_IOMMU_PASID_REQUEST #18 is known (argsz 0 answered EINVAL, not ENOTTY)
    bool v7_nesting_op = false;     ///< VFIO_IOMMU_NESTING_OP #19 is known
    bool seed_pasid_request = false;  ///< the seed's #22 is known
    bool seed_nesting_op = false;     ///< the seed's #23 is known
    /// Whether any form of the proposal is there: `if (!proposal::probe(c)->any()) use_iommufd();`
    [[nodiscard]] bool any() const noexcept {
        return v7_pasid_request || v7_nesting_op || seed_pasid_request || seed_nesting_op || nesting.has_value();
    }
};

namespace detail {
// A request of the ioctl `def` whose argsz is 0: every revision's first check refuses it (EINVAL) before touching
// anything, so the answer tells a kernel that knows the number (EINVAL) from one that does not (ENOTTY). Issued
// through the container's hook like every request; it needs no builder, since no builder makes an argsz of 0.
template <typename Arg>
result<bool> knows(const container& c, const uapi::ioctl_def<Arg>& def) {
    alignas(8) std::byte zero[32] = {};
    int rc = c.hook()(c.fd(), static_cast<unsigned long>(def.code), zero);
    if (rc == 0 || errno == EINVAL) return true;  // rc 0 would be a kernel that took argsz 0: it knows the number
    if (errno == ENOTTY) return false;
    return error{def.name, "argsz", errno, "probing with argsz 0", error_origin::kernel};
}

// v7 CAP_NESTING shares id 3 with mainline's DMA_AVAIL (12 bytes); told apart by its size (8 + 56) and the argsz
// of its iommu_nesting_info.
inline std::optional<uapi::v7::iommu_nesting_info> nesting_cap_of(std::span<const std::byte> reply) {
    auto chain = wire::cap_chain_view<wire::iommu_info_caps_v7>::parse(reply);
    if (!chain) return std::nullopt;
    for (const auto& cap : *chain) {
        if (const auto* n = std::get_if<wire::nesting_cap>(&cap))
            if (n->bytes.size() >= sizeof(uapi::v7::vfio_iommu_type1_info_cap_nesting) &&
                n->value.header.version == uapi::v7::vfio_iommu_type1_info_cap_nesting_version &&
                n->value.info.argsz >= sizeof(uapi::v7::iommu_nesting_info))
                return n->value.info;
    }
    return std::nullopt;
}
}  // namespace detail

/// Finds what of the proposal c's kernel has: the nesting extension, v7's CAP_NESTING (when an IOMMU model is
/// set), and which of the four ioctl numbers the kernel knows (each asked with argsz 0, which every revision
/// refuses first). `if (auto s = proposal::probe(c); s && !s->any()) ...`
[[nodiscard]] inline result<support> probe(const container& c) {
    support s;
    auto ext = c.has_extension(static_cast<uapi::extension>(uapi::v7::vfio_type1_nesting_iommu));
    if (!ext) return ext.error();
    s.nesting_extension = *ext;
    if (c.iommu_set()) {
        auto req = wire::vfio::iommu_get_info<1024>();
        if (auto r = io::negotiate(c.fd(), req, c.hook()); r) s.nesting = detail::nesting_cap_of(req.bytes());
    }
    auto v7p = detail::knows(c, uapi::v7::iommu_pasid_request);
    auto v7n = detail::knows(c, uapi::v7::iommu_nesting_op);
    auto sp = detail::knows(c, uapi::seed::iommu_pasid_request);
    auto sn = detail::knows(c, uapi::seed::iommu_nesting_op);
    for (auto* r : {&v7p, &v7n, &sp, &sn})
        if (!*r) return r->error();
    s.v7_pasid_request = *v7p;
    s.v7_nesting_op = *v7n;
    s.seed_pasid_request = *sp;
    s.seed_nesting_op = *sn;
    return s;
}

/// The proposal's operations, whichever kernel carries them: a caller written against this runs unchanged on a
/// container with the proposal or on iommufd. Errors name the proposal's ioctl (or the iommufd one that failed).
///   void guest_flush(proposal::vsva& s, const proposal::cache_info& i) { auto out = s.invalidate(i); }
class vsva {
public:
    virtual ~vsva() = default;
    /// PASID_REQUEST ALLOC: one PASID in range (inclusive; max <= 0x7fffffff), typed: `auto p = s.pasid_alloc({1, 10});`
    [[nodiscard]] virtual result<std::uint32_t> pasid_alloc(wire::pasid_range range) = 0;
    /// PASID_REQUEST FREE of every PASID this object holds in range (bound ones are unbound first).
    ///   s.pasid_free({p, p}).value();
    [[nodiscard]] virtual result<void> pasid_free(wire::pasid_range range) = 0;
    /// NESTING_OP BIND_PGTBL: the guest's stage-1 table (gpgd) at host PASID data.hpasid: `s.bind(b).value();`
    [[nodiscard]] virtual result<void> bind(const gpasid_bind& data) = 0;
    /// NESTING_OP UNBIND_PGTBL of data.hpasid (errors are reported, unlike v7's): `s.unbind(b).value();`
    [[nodiscard]] virtual result<void> unbind(const gpasid_bind& data) = 0;
    /// NESTING_OP CACHE_INVLD: done = invalidation entries the kernel consumed, status the error where it stopped.
    ///   auto out = s.invalidate(info); if (!out.status) report(out.done);
    [[nodiscard]] virtual invalidate_outcome invalidate(const cache_info& info) = 0;
    /// Which backend this is: "container/v7", "container/seed" or "iommufd".
    [[nodiscard]] virtual std::string_view backend() const noexcept = 0;
    /// The PASIDs held, ascending: `for (auto p : s.pasids()) ...`
    [[nodiscard]] virtual std::span<const std::uint32_t> pasids() const noexcept = 0;
};

/// The proposal on a VFIO container in revision Abi (uapi::abi::v7 or uapi::abi::seed); borrows the container.
///   proposal::container_backend<uapi::abi::v7> s{c};
template <uapi::proposal_abi Abi>
class container_backend final : public vsva {
public:
    explicit container_backend(const container& c) noexcept : fd_(c.fd()), hook_(c.hook()) {}
    container_backend(const container_backend&) = delete;
    container_backend& operator=(const container_backend&) = delete;
    /// Unbinds what it bound and frees the PASIDs it holds (errors dropped).
    ~container_backend() override {
        for (auto p : std::vector<std::uint32_t>(bound_)) {
            gpasid_bind b{};
            b.format = uapi::iommu_pasid_format::intel_vtd;
            b.hpasid = p;
            (void)unbind(b);
        }
        for (auto p : std::vector<std::uint32_t>(held_.held().begin(), held_.held().end())) (void)pasid_free({p, p});
    }

    [[nodiscard]] result<std::uint32_t> pasid_alloc(wire::pasid_range range) override {
        auto req = wire::pasid_alloc<Abi>(range);
        if (!req) return req.error();
        auto r = io::submit(fd_, *req, hook_);
        if (!r) return advise(r.error().with("min", range.min).with("max", range.max));
        std::uint32_t pasid = 0;
        if constexpr (uapi::abi_traits<Abi>::pasid_is_return_value) pasid = static_cast<std::uint32_t>(*r);
        else pasid = req->header().pasid;
        // mirror the kernel's set in the user-space table (the kernel enforces the quota itself)
        (void)held_.adopt(pasid);
        return pasid;
    }
    [[nodiscard]] result<void> pasid_free(wire::pasid_range range) override {
        for (auto p : std::vector<std::uint32_t>(bound_))
            if (p >= range.min && p <= range.max) {
                gpasid_bind b{};
                b.format = uapi::iommu_pasid_format::intel_vtd;
                b.hpasid = p;
                if (auto u = unbind(b); !u) return u.error();
            }
        if constexpr (std::is_same_v<Abi, uapi::abi::v7>) {
            auto req = wire::pasid_free<Abi>(range);
            if (!req) return req.error();
            if (auto r = io::submit(fd_, *req, hook_); !r) return advise(r.error().with("min", range.min).with("max", range.max));
        } else {  // the seed frees one PASID per request: those held in range
            for (auto p : std::vector<std::uint32_t>(held_.held().begin(), held_.held().end())) {
                if (p < range.min || p > range.max) continue;
                auto req = wire::pasid_free<Abi>(p);
                if (auto r = io::submit(fd_, req, hook_); !r) return advise(r.error().with("pasid", p));
                (void)held_.free(p, p);
            }
        }
        (void)held_.free(range.min, range.max);
        return {};
    }
    [[nodiscard]] result<void> bind(const gpasid_bind& data) override {
        if (auto r = op(wire::bind_pgtbl{data}, data.hpasid); !r) return r;
        if (std::find(bound_.begin(), bound_.end(), data.hpasid) == bound_.end())
            bound_.push_back(static_cast<std::uint32_t>(data.hpasid));
        return {};
    }
    [[nodiscard]] result<void> unbind(const gpasid_bind& data) override {
        if (auto r = op(wire::unbind_pgtbl{data}, data.hpasid); !r) return r;
        std::erase(bound_, static_cast<std::uint32_t>(data.hpasid));
        return {};
    }
    [[nodiscard]] invalidate_outcome invalidate(const cache_info& info) override {
        invalidate_outcome out;
        out.status = op(wire::cache_invalidate{info}, 0);
        // one payload; what it consumed the 2020 kernel does not say (the builder refused what it would drop)
        if (out.status) out.done = 1;
        return out;
    }
    [[nodiscard]] std::string_view backend() const noexcept override {
        return std::is_same_v<Abi, uapi::abi::v7> ? "container/v7" : "container/seed";
    }
    [[nodiscard]] std::span<const std::uint32_t> pasids() const noexcept override { return held_.held(); }

private:
    result<void> op(const wire::nesting_payload& p, std::uint64_t pasid) {
        auto req = wire::nesting_op<Abi>(p);
        if (!req) return std::move(req.error()).with("hpasid", pasid);
        if (auto r = io::submit(fd_, *req, hook_); !r) return advise(r.error().with("hpasid", pasid));
        return {};
    }
    static error advise(error e) {
        if (e.code == ENOTTY)
            e.advise("this kernel does not implement the 2020 proposal (no mainline kernel does): "
                     "proposal::probe() tells before any attempt; iommufd_backend runs the same operations");
        if (e.code == EOPNOTSUPP) e.advise("the container is not a nesting container, or its IOMMU lacks the feature");
        return e;
    }
    int fd_;
    io::ioctl_hook hook_;
    rules::pasid_table held_{0xffffffffu};  // what the kernel gave this object (no quota of its own)
    std::vector<std::uint32_t> bound_;
};

// ---- iommufd ----

/// How iommufd_backend reaches the device it binds for: the device ID, and attach/detach at the RID and at a PASID.
/// device_port adapts a vfiopp::device (VFIO cdev); a test may adapt the IOMMUFD_TEST mock device.
class port {
public:
    virtual ~port() = default;
    /// The device's ID in the iommufd.
    [[nodiscard]] virtual std::uint32_t dev_id() const noexcept = 0;
    /// Whether the kernel and device take PASID attaches.
    [[nodiscard]] virtual result<bool> has_pasid() const = 0;
    /// Moves the RID onto pt_id (replace, no window of blocked DMA).
    [[nodiscard]] virtual result<void> replace_rid(std::uint32_t pt_id) = 0;
    /// Attaches pasid to pt_id.
    [[nodiscard]] virtual result<void> attach_pasid(std::uint32_t pasid, std::uint32_t pt_id) = 0;
    /// Detaches pasid.
    [[nodiscard]] virtual result<void> detach_pasid(std::uint32_t pasid) = 0;
};

/// A vfiopp::device (bound to the iommufd and attached) as a port: `proposal::device_port p{dev};`
class device_port final : public port {
public:
    explicit device_port(device& d) noexcept : dev_(&d) {}
    [[nodiscard]] std::uint32_t dev_id() const noexcept override { return dev_->dev_id(); }
    [[nodiscard]] result<bool> has_pasid() const override { return dev_->has_pasid_forms(); }
    [[nodiscard]] result<void> replace_rid(std::uint32_t pt_id) override {
        if (auto r = dev_->replace(pt_id); !r) return r.error();
        return {};
    }
    [[nodiscard]] result<void> attach_pasid(std::uint32_t pasid, std::uint32_t pt_id) override {
        if (auto r = dev_->attach_pasid(pasid, pt_id); !r) return r.error();
        return {};
    }
    [[nodiscard]] result<void> detach_pasid(std::uint32_t pasid) override { return dev_->detach_pasid(pasid); }

private:
    device* dev_;
};

/// The Intel VT-d translation of the 2020 payloads into iommufd's (IOMMU_HWPT_DATA_VTD_S1 and
/// IOMMU_HWPT_INVALIDATE_DATA_VTD_S1). The interface a translation provides: stage1_type, invalidate_entry,
/// max_entries, stage1(), entries().
struct vtd_translation {
    using stage1_type = uapi::iommu_hwpt_vtd_s1;
    using invalidate_entry = uapi::iommu_hwpt_vtd_s1_invalidate;
    static constexpr std::size_t max_entries = 1;

    /// gpasid_bind -> iommu_hwpt_vtd_s1: gpgd -> pgtbl_addr, addr_width, SRE/EAFE. PCD/PWT/CD/EMTE select memory
    /// types iommufd's VT-d stage 1 has no field for (the host sets them): refused, EOPNOTSUPP. PAT/EMT only
    /// matter with EMTE: ignored without it. gpasid (GPASID_VAL) has no counterpart: the PASID a VMM attaches is
    /// its own choice, so it is not needed (ignored).
    [[nodiscard]] static result<stage1_type> stage1(const gpasid_bind& b) {
        using f = uapi::iommu_gpasid_vtd_flag;
        const auto memtype = uapi::bitmask<f>(f::pcd) | f::pwt | f::cd | f::emte;
        if ((b.vendor.vtd.flags & memtype).any())
            return vfiopp::detail::refuse("IOMMU_HWPT_ALLOC", "data.vendor.vtd.flags", EOPNOTSUPP,
                                          "PCD/PWT/CD/EMTE have no counterpart in iommu_hwpt_vtd_s1 (the host sets "
                                          "the stage-1 memory type)");
        stage1_type s{};
        s.pgtbl_addr = b.gpgd;
        s.addr_width = b.addr_width;
        if (b.vendor.vtd.flags.has(f::sre)) s.flags |= uapi::hwpt_vtd_s1_flag::sre;
        if (b.vendor.vtd.flags.has(f::eafe)) s.flags |= uapi::hwpt_vtd_s1_flag::eafe;
        return s;
    }
    /// iommu_cache_invalidate_info -> iommu_hwpt_vtd_s1_invalidate: addr granularity -> addr and npages 4 KiB pages
    /// (LEAF kept); pasid and domain granularity -> everything (addr 0, npages U64_MAX). Returns the entry count.
    [[nodiscard]] static result<std::size_t> entries(const cache_info& i, std::span<invalidate_entry> out) {
        constexpr std::string_view name = "IOMMU_HWPT_INVALIDATE";
        invalidate_entry e{};
        if (i.granularity == uapi::iommu_inv_granularity::addr) {
            const auto& a = i.granu.addr_info;
            if (a.flags.has(uapi::iommu_inv_addr_flag::archid))
                return vfiopp::detail::refuse(name, "data.granu.addr_info.flags", EOPNOTSUPP,
                                              "ARCHID (an SMMU address-space ID) has no VT-d counterpart");
            std::uint64_t size = 0;
            if (__builtin_mul_overflow(a.granule_size, a.nb_granules, &size))
                return vfiopp::detail::refuse(name, "data.granu.addr_info.nb_granules", EOVERFLOW,
                                              "granule_size * nb_granules does not fit 64 bits");
            if (a.addr % 4096 != 0 || size % 4096 != 0 || size == 0)
                return vfiopp::detail::refuse(name, "data.granu.addr_info.addr", EINVAL,
                                              "VT-d invalidates whole 4 KiB pages: addr and size must be multiples");
            e.addr = a.addr;
            e.npages = size / 4096;
            if (a.flags.has(uapi::iommu_inv_addr_flag::leaf)) e.flags = uapi::hwpt_vtd_s1_invalidate_flag::leaf;
        } else {
            if (i.granularity == uapi::iommu_inv_granularity::pasid &&
                i.granu.pasid_info.flags.has(uapi::iommu_inv_pasid_flag::archid))
                return vfiopp::detail::refuse(name, "data.granu.pasid_info.flags", EOPNOTSUPP,
                                              "ARCHID (an SMMU address-space ID) has no VT-d counterpart");
            e.addr = 0;
            e.npages = ~std::uint64_t{0};
        }
        out[0] = e;
        return std::size_t{1};
    }
};

/// The proposal realised on iommufd for one device (through a port), with vendor translation Translation.
///   proposal::device_port p{dev};
///   auto s = proposal::iommufd_backend<>::create(ctx, p, ioas.id()).value();   // NEST_PARENT over the IOAS
template <typename Translation = vtd_translation>
class iommufd_backend final : public vsva {
public:
    /// Allocates the stage-2 parent (IOMMU_HWPT_ALLOC NEST_PARENT over the IOAS ioas_id, PASID-compatible when the
    /// port takes PASIDs) and moves the RID onto it (the device must be attached, e.g. to that IOAS); when the
    /// backend goes, the RID goes back to the IOAS. quota: the PASID table's (1000, as v7's default).
    [[nodiscard]] static result<std::unique_ptr<iommufd_backend>> create(const iommufd& ctx, port& p,
                                                                         std::uint32_t ioas_id,
                                                                         std::uint32_t quota = rules::default_pasid_quota) {
        auto pasid = p.has_pasid();
        if (!pasid) return pasid.error();
        auto flags = uapi::bitmask<uapi::hwpt_alloc_flag>(uapi::hwpt_alloc_flag::nest_parent);
        if (*pasid) flags |= uapi::hwpt_alloc_flag::pasid;
        auto parent = hwpt::alloc(ctx, p.dev_id(), ioas_id, flags);
        if (!parent) return parent.error();
        std::unique_ptr<iommufd_backend> b{new iommufd_backend(ctx, p, std::move(*parent), *pasid, quota)};
        if (auto r = p.replace_rid(b->parent_.id()); !r) return r.error();  // not moved: nothing to restore
        b->ioas_id_ = ioas_id;
        return b;
    }
    iommufd_backend(const iommufd_backend&) = delete;
    iommufd_backend& operator=(const iommufd_backend&) = delete;
    /// Unbinds and destroys the nested HWPTs, moves the RID back to the IOAS, destroys the parent.
    ~iommufd_backend() override {
        while (!bound_.empty()) {
            gpasid_bind b{};
            b.hpasid = bound_.back().pasid;
            const auto before = bound_.size();
            // a failed detach keeps the binding: drop it (the HWPT's destructor still tries); a failed destroy
            // after the detach has dropped it already
            if (!unbind(b) && bound_.size() == before) bound_.pop_back();
        }
        // back to the IOAS, not to the HWPT the RID had: the kernel destroys an automatic HWPT its last device left
        if (ioas_id_ != 0) (void)port_->replace_rid(ioas_id_);
    }

    /// The stage-2 parent's HWPT ID.
    [[nodiscard]] std::uint32_t parent_id() const noexcept { return parent_.id(); }
    /// Whether binds attach at a PASID (true) or at the RID (one bind at a time).
    [[nodiscard]] bool pasid_attach() const noexcept { return pasid_mode_; }
    /// The nested HWPT bound at pasid, 0 when none: `s.hwpt_of(5)`.
    [[nodiscard]] std::uint32_t hwpt_of(std::uint32_t pasid) const noexcept {
        for (const auto& b : bound_)
            if (b.pasid == pasid) return b.stage1.id();
        return 0;
    }

    [[nodiscard]] result<std::uint32_t> pasid_alloc(wire::pasid_range range) override {
        if (auto c = vfiopp::detail::check_pasid_range<uapi::abi::v7>(range); !c) return c.error();
        return table_.alloc(range.min, range.max);
    }
    [[nodiscard]] result<void> pasid_free(wire::pasid_range range) override {
        if (auto c = vfiopp::detail::check_pasid_range<uapi::abi::v7>(range); !c) return c.error();
        for (std::size_t i = bound_.size(); i-- > 0;)
            if (bound_[i].pasid >= range.min && bound_[i].pasid <= range.max) {
                gpasid_bind b{};
                b.hpasid = bound_[i].pasid;
                if (auto u = unbind(b); !u) return u.error();
            }
        (void)table_.free(range.min, range.max);
        return {};
    }
    [[nodiscard]] result<void> bind(const gpasid_bind& data) override {
        constexpr std::string_view name = "VFIO_IOMMU_NESTING_OP";
        auto d = data;
        d.argsz = sizeof d;
        d.version = 1;
        if (auto v = rules::check_bind_content(d, true); !v.accepted()) return v.as_error(name);
        const auto pasid = static_cast<std::uint32_t>(d.hpasid);
        if (!table_.holds(pasid))
            return vfiopp::detail::refuse(name, "data.hpasid", EINVAL, "the PASID was not allocated by pasid_alloc()")
                .with("hpasid", pasid);
        if (hwpt_of(pasid) != 0 || (!pasid_mode_ && !bound_.empty()))
            return vfiopp::detail::refuse(name, "data.hpasid", EBUSY,
                                          pasid_mode_ ? "the PASID is bound already: unbind it first"
                                                      : "without PASID attach only one table can be bound (at the RID)")
                .with("hpasid", pasid);
        auto s1 = Translation::stage1(d);
        if (!s1) return std::move(s1.error()).with("hpasid", pasid);
        auto flags = pasid_mode_ ? uapi::bitmask<uapi::hwpt_alloc_flag>(uapi::hwpt_alloc_flag::pasid)
                                 : uapi::bitmask<uapi::hwpt_alloc_flag>{};
        auto nested = hwpt::alloc_nested(*ctx_, port_->dev_id(), parent_, *s1, flags);
        if (!nested) return std::move(nested.error()).with("hpasid", pasid);
        auto at = pasid_mode_ ? port_->attach_pasid(pasid, nested->id()) : port_->replace_rid(nested->id());
        if (!at) return std::move(at.error()).with("hpasid", pasid);  // nested goes with this scope
        bound_.push_back({pasid, std::move(*nested)});
        return {};
    }
    [[nodiscard]] result<void> unbind(const gpasid_bind& data) override {
        const auto pasid = static_cast<std::uint32_t>(data.hpasid);
        auto it = std::find_if(bound_.begin(), bound_.end(), [&](const binding& b) { return b.pasid == pasid; });
        if (it == bound_.end())
            return vfiopp::detail::refuse("VFIO_IOMMU_NESTING_OP", "data.hpasid", ENOENT, "no table is bound at this PASID")
                .with("hpasid", pasid);
        auto off = pasid_mode_ ? port_->detach_pasid(pasid) : port_->replace_rid(parent_.id());
        if (!off) return std::move(off.error()).with("hpasid", pasid);
        auto d = it->stage1.destroy();
        bound_.erase(it);
        return d;
    }
    [[nodiscard]] invalidate_outcome invalidate(const cache_info& info) override {
        constexpr std::string_view name = "VFIO_IOMMU_NESTING_OP";
        invalidate_outcome out;
        auto i = info;
        i.argsz = sizeof i;
        i.version = 1;
        if (auto v = rules::check_cache_invalidate_content(i); !v.accepted()) {
            out.status = v.as_error(name);
            return out;
        }
        using c = uapi::iommu_cache_inv_type;
        if (!i.cache.any()) {
            out.status = vfiopp::detail::refuse(name, "data.cache", EINVAL, "no cache to invalidate");
            return out;
        }
        // The PASID cache alone: iommufd keeps the PASID table in the host kernel, which flushes it on attach and
        // detach; nothing to send (documented no-op, done = 0).
        if (!i.cache.has(c::iotlb) && !i.cache.has(c::dev_iotlb)) return out;
        // DEV_IOTLB goes with the IOTLB: the host invalidates the device TLB with it when ATS is on.
        std::optional<std::uint32_t> pasid;
        if (i.granularity == uapi::iommu_inv_granularity::addr && i.granu.addr_info.flags.has(uapi::iommu_inv_addr_flag::pasid))
            pasid = static_cast<std::uint32_t>(i.granu.addr_info.pasid);
        if (i.granularity == uapi::iommu_inv_granularity::pasid && i.granu.pasid_info.flags.has(uapi::iommu_inv_pasid_flag::pasid))
            pasid = static_cast<std::uint32_t>(i.granu.pasid_info.pasid);
        std::array<typename Translation::invalidate_entry, Translation::max_entries> entries{};
        auto n = Translation::entries(i, entries);
        if (!n) {
            out.status = n.error();
            return out;
        }
        if (pasid && hwpt_of(*pasid) == 0) {
            out.status = vfiopp::detail::refuse(name, "data.granu", ENOENT, "no table is bound at this PASID")
                             .with("pasid", *pasid);
            return out;
        }
        // a PASID-tagged request goes to its table, an untagged one (domain granularity) to every bound table
        for (auto& b : bound_) {
            if (pasid && b.pasid != *pasid) continue;
            auto r = b.stage1.invalidate(std::span<const typename Translation::invalidate_entry>(entries.data(), *n));
            out.done += r.done;
            if (!r.status) {
                out.status = std::move(r.status);  // names the HWPT (and entry_num) of the PASID's table
                return out;
            }
        }
        return out;
    }
    [[nodiscard]] std::string_view backend() const noexcept override { return "iommufd"; }
    [[nodiscard]] std::span<const std::uint32_t> pasids() const noexcept override { return table_.held(); }

private:
    struct binding {
        std::uint32_t pasid;
        hwpt stage1;
    };
    iommufd_backend(const iommufd& ctx, port& p, hwpt parent, bool pasid_mode, std::uint32_t quota)
        : ctx_(&ctx), port_(&p), table_(quota), pasid_mode_(pasid_mode), parent_(std::move(parent)) {}

    const iommufd* ctx_;
    port* port_;
    rules::pasid_table table_;
    bool pasid_mode_;
    std::uint32_t ioas_id_ = 0;  // set once the RID is on the parent
    // declared after the parent: the nested HWPTs are destroyed first
    hwpt parent_;
    std::vector<binding> bound_;
};

}  // namespace vfiopp::proposal
