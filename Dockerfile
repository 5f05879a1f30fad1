# The rustica node image: one statically linked binary and its config, nothing
# else, so it needs no base image (our machines cannot pull one; a machine that
# can builds the same file). Build the binary, then the image:
#   scripts/docker-image.sh
# which runs
#   RUSTFLAGS="-C target-feature=+crt-static" \
#     cargo build --release --target x86_64-unknown-linux-gnu -p tools
#   strip -o target/docker/rustica target/x86_64-unknown-linux-gnu/release/rustica
#   docker build -t rustica:latest .
FROM scratch
COPY target/docker/rustica /rustica
COPY conf/docker.toml /etc/rustica/rustica.toml
# CQL, internode, gossip.
EXPOSE 9042 7000 9044
VOLUME /var/lib/rustica
ENTRYPOINT ["/rustica"]
CMD ["node", "--config", "/etc/rustica/rustica.toml"]
