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
        .target(
            name: "VFIOKit",
            dependencies: [
                "CLibPCI",
                "CLinuxShim",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "VfioctlCommands",
            dependencies: [
                "VFIOKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "vfioctl", dependencies: ["VfioctlCommands"]),
        .target(
            name: "VFIOTestSupport",
            dependencies: [
                "VFIOKit",
                "CLinuxShim",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // `make bench` (part 3): unbind's release latency on a fixture with the simulated kernel.
        .executableTarget(
            name: "unbind-latency",
            dependencies: ["VfioctlCommands", "VFIOKit", "VFIOTestSupport"],
            path: "bench/unbind-latency"
        ),
        // `make bench` (part 1): sysfs trees of thousands of functions made of fixture-layout copies.
        .executableTarget(
            name: "fixture-tree",
            dependencies: ["VFIOKit", "VFIOTestSupport"],
            path: "bench/fixture-tree"
        ),
        .testTarget(name: "VFIOKitTests", dependencies: ["VFIOKit", "VFIOTestSupport"], exclude: ["Dumps"]),
        .testTarget(
            name: "VfioctlCommandsTests",
            dependencies: ["VfioctlCommands", "VFIOKit", "VFIOTestSupport"]
        ),
    ]
)
