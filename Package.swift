// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "vfioctl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vfioctl", targets: ["vfioctl"]),
        .library(name: "VFIOKit", targets: ["VFIOKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // libpci (pciutils). The shim wraps what Swift cannot call directly: the variadic
        // pci_lookup_name and libpci's variadic, non-returning error hooks.
        .systemLibrary(
            name: "CLibPCI",
            pkgConfig: "libpci",
            providers: [.apt(["libpci-dev"])]
        ),
        // Linux system calls Swift cannot call directly (statx, pidfd_open, getdents64 go
        // through the variadic syscall()).
        .systemLibrary(name: "CLinuxShim"),
        // The rooms of the README's layout table, one target each, so that an import the table
        // does not allow fails to compile. Values and pure rules: no C library, no file access.
        .target(
            name: "VFIOModel",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")]
        ),
        // Work split over threads (the readers' sysfs walk, the writer of a large document).
        .target(name: "VFIOParallel"),
        // The readers of the host (sysfs, /proc, /dev/vfio, libpci), always under the root prefix.
        .target(
            name: "VFIOHost",
            dependencies: [
                "VFIOModel",
                "VFIOParallel",
                "CLibPCI",
                "CLinuxShim",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The only writers: sysfs, modprobe, node owners, the transaction executor and the operations,
        // the state file, udev rule files, the host lock.
        .target(
            name: "VFIOWriters",
            dependencies: [
                "VFIOModel",
                "VFIOHost",
                "CLinuxShim",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // HostSession and its services: the policy, composed of the readers, planners and writers.
        .target(
            name: "VFIOKit",
            dependencies: ["VFIOModel", "VFIOHost", "VFIOWriters"]
        ),
        .target(
            name: "VfioctlCommands",
            dependencies: [
                "VFIOKit",
                "VFIOModel",
                "VfioctlOutput",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The renderers and document types: values in, the console out; they read nothing of the host.
        .target(name: "VfioctlOutput", dependencies: ["VFIOModel", "VFIOParallel"]),
        .executableTarget(name: "vfioctl", dependencies: ["VfioctlCommands"]),
        .target(
            name: "VFIOTestSupport",
            dependencies: [
                "VFIOKit",
                "VFIOModel",
                "VFIOHost",
                "VFIOWriters",
                "CLinuxShim",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // `make bench` (part 3): unbind's release latency on a fixture with the simulated kernel.
        .executableTarget(
            name: "unbind-latency",
            dependencies: ["VfioctlCommands", "VFIOKit", "VFIOModel", "VFIOWriters", "VFIOTestSupport"],
            path: "bench/unbind-latency"
        ),
        // `make bench` (part 1): sysfs trees of thousands of functions made of fixture-layout copies.
        .executableTarget(
            name: "fixture-tree",
            dependencies: ["VFIOKit", "VFIOModel", "VFIOHost", "VFIOTestSupport"],
            path: "bench/fixture-tree"
        ),
        .testTarget(
            name: "VFIOKitTests",
            dependencies: ["VFIOKit", "VFIOModel", "VFIOHost", "VFIOWriters", "VFIOParallel", "VFIOTestSupport"],
            exclude: ["Dumps"]
        ),
        .testTarget(
            name: "VfioctlCommandsTests",
            dependencies: [
                "VfioctlCommands", "VfioctlOutput", "VFIOKit", "VFIOModel", "VFIOHost", "VFIOWriters", "VFIOParallel", "VFIOTestSupport",
            ]
        ),
    ]
)
