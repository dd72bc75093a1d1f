/* skiff — media types, annotation keys and size limits of the artifact.
 *
 * See "The artifact" in DESIGN.md: a skiff image is an OCI 1.1 image
 * manifest with artifactType SK_ARTIFACT_TYPE_VM, a config of type
 * SK_MEDIA_TYPE_VM_CONFIG and qcow2 layers, base first. */
#pragma once

/* OCI image-spec 1.1 */
#define SK_MEDIA_TYPE_OCI_MANIFEST      "application/vnd.oci.image.manifest.v1+json"
#define SK_MEDIA_TYPE_OCI_INDEX         "application/vnd.oci.image.index.v1+json"
#define SK_MEDIA_TYPE_OCI_CONFIG        "application/vnd.oci.image.config.v1+json"
#define SK_MEDIA_TYPE_OCI_DESCRIPTOR    "application/vnd.oci.descriptor.v1+json"
#define SK_MEDIA_TYPE_OCI_LAYOUT_HEADER "application/vnd.oci.layout.header.v1+json"
#define SK_MEDIA_TYPE_OCI_EMPTY         "application/vnd.oci.empty.v1+json"
#define SK_MEDIA_TYPE_OCI_LAYER_TAR     "application/vnd.oci.image.layer.v1.tar"
#define SK_MEDIA_TYPE_OCI_LAYER_GZIP    "application/vnd.oci.image.layer.v1.tar+gzip"
#define SK_MEDIA_TYPE_OCI_LAYER_ZSTD    "application/vnd.oci.image.layer.v1.tar+zstd"

/* Docker image manifest v2 schema 2 and manifest list; schema 1 only to
 * recognise (and refuse) it. */
#define SK_MEDIA_TYPE_DOCKER_MANIFEST       "application/vnd.docker.distribution.manifest.v2+json"
#define SK_MEDIA_TYPE_DOCKER_MANIFEST_LIST  "application/vnd.docker.distribution.manifest.list.v2+json"
#define SK_MEDIA_TYPE_DOCKER_CONFIG         "application/vnd.docker.container.image.v1+json"
#define SK_MEDIA_TYPE_DOCKER_SCHEMA1        "application/vnd.docker.distribution.manifest.v1+json"
#define SK_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* skiff */
#define SK_ARTIFACT_TYPE_VM            "application/vnd.skiff.vm.v1"
#define SK_MEDIA_TYPE_VM_CONFIG        "application/vnd.skiff.vm.config.v1+json"
#define SK_MEDIA_TYPE_DISK_QCOW2       "application/vnd.skiff.disk.qcow2.v1"
#define SK_MEDIA_TYPE_DISK_QCOW2_ZSTD  "application/vnd.skiff.disk.qcow2.v1+zstd"
#define SK_MEDIA_TYPE_DISK_QCOW2_GZIP  "application/vnd.skiff.disk.qcow2.v1+gzip"
#define SK_MEDIA_TYPE_KERNEL           "application/vnd.skiff.kernel.v1"
#define SK_MEDIA_TYPE_INITRD           "application/vnd.skiff.initrd.v1"

/* Annotations.  On a disk layer: the sha256 of the uncompressed qcow2 and
 * its byte length (decimal). */
#define SK_ANNOTATION_DISK_DIFF_ID "io.skiff.disk.diff-id"
#define SK_ANNOTATION_DISK_SIZE    "io.skiff.disk.size"
#define SK_ANNOTATION_REF_NAME     "org.opencontainers.image.ref.name"
#define SK_ANNOTATION_CREATED      "org.opencontainers.image.created"

/* Largest manifest, index or config skiff reads (the distribution spec lets
 * registries refuse manifests above 4 MiB). */
#define SK_MANIFEST_MAX_SIZE (4 * 1024 * 1024)
#define SK_CONFIG_MAX_SIZE   (4 * 1024 * 1024)

/* The layout header skiff writes and accepts. */
#define SK_OCI_LAYOUT_VERSION "1.0.0"
