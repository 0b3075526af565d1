#!/bin/sh
# make static: build/static/akvd, one static executable (glibc, libcurl,
# OpenSSL, libev, cJSON, libmicrohttpd linked in) for the container image.
# About two minutes on 2 cores the first time.
#
#   scripts/build-static.sh       (make static runs it)
#
# Debian 12 ships libev.a and libz.a in the -dev packages and they link as
# they are.  Its libcurl.a is built for every protocol and pulls in
# GSS-API, LDAP, RTMP (GnuTLS), SSH, IDN, PSL, nghttp2, brotli and zstd,
# several of which Debian has no static archive of (krb5, sasl2, p11-kit);
# its libmicrohttpd.a needs GnuTLS; cJSON has no .a; its libcrypto.a holds
# every algorithm of OpenSSL's default provider, which a static executable
# then carries (and keeps resident).  So those four are built here from
# Debian's own source packages (`apt-get source`, bookworm's, with Debian's
# patches), with only what akvd uses: OpenSSL for TLS clients, X.509, PEM
# and PKCS#12 (see ossl_opts); libcurl for HTTP and HTTPS over that
# OpenSSL with zlib and the threaded resolver and the trust anchors where
# Debian (and the image) keep them, /etc/ssl/certs/ca-certificates.crt,
# with the performance patches of scripts/static-patches/; libmicrohttpd
# without TLS.  The source lists are private to build/static (deb-src
# lines made from the system's deb lines): nothing is written outside the
# tree.  Needs dpkg-dev (dpkg-source), patch, perl, libev-dev and
# zlib1g-dev (scripts/install-deps.sh).
#
# The libraries are cached in build/static: a second run only relinks.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/build/static
mkdir -p "$out"
pfx=$out/prefix
src=$out/src
apt=$out/apt
jobs=$(nproc 2>/dev/null || echo 2)

say() { echo "static: $*"; }

# --- Debian source packages, through a private apt state -------------------
fetch() {	# fetch PKG: unpack Debian's source of PKG under $src/PKG
	[ -f "$src/$1/.unpacked" ] && return 0
	if [ ! -f "$apt/.updated" ]; then
		mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" \
		    "$apt/sources.list.d"
		: > "$apt/sources.list"
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			sed 's/^Types:.*/Types: deb-src/' "$f" \
			    > "$apt/sources.list.d/$(basename "$f")"
		done
		if [ -f /etc/apt/sources.list ]; then
			sed -n 's/^deb[[:space:]]/deb-src /p' /etc/apt/sources.list \
			    > "$apt/sources.list"
		fi
		say "apt-get update (deb-src, private lists in $apt)"
		aptget update -qq
		touch "$apt/.updated"
	fi
	rm -rf "$src/$1"
	mkdir -p "$src/$1"
	say "apt-get source $1"
	# As root, apt hands the download to the _apt user: let it write.
	chmod 0777 "$src/$1"
	if ! (cd "$src/$1" && aptget source -qq "$1" >/dev/null 2>"$apt/err");
	then
		# A mirror may lag behind its own index: the other versions it
		# lists, newest first.
		for v in $(aptcache madison "$1" |
		    awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -urV); do
			find "$src/$1" -mindepth 1 -delete
			say "apt-get source $1=$v"
			if (cd "$src/$1" && aptget source -qq "$1=$v" \
			    >/dev/null 2>&1); then
				: > "$apt/err"
				break
			fi
		done
		[ ! -s "$apt/err" ] || { cat "$apt/err" >&2; exit 1; }
	fi
	d=$(find "$src/$1" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	[ -n "$d" ] || { echo "static: apt-get source $1 unpacked nothing" >&2; exit 1; }
	ln -sfn "$(basename "$d")" "$src/$1/tree"
	touch "$src/$1/.unpacked"
}

aptget() {
	apt-get -o Dir::Etc::SourceList="$apt/sources.list" \
	    -o Dir::Etc::SourceParts="$apt/sources.list.d" \
	    -o Dir::State::Lists="$apt/lists" \
	    -o Dir::Cache="$apt/cache" \
	    -o Debug::NoLocking=1 "$@"
}

aptcache() {
	apt-cache -o Dir::Etc::SourceList="$apt/sources.list" \
	    -o Dir::Etc::SourceParts="$apt/sources.list.d" \
	    -o Dir::State::Lists="$apt/lists" \
	    -o Dir::Cache="$apt/cache" "$@"
}

# --- OpenSSL: libcrypto and libssl with what akvd and libcurl use ---------
# TLS 1.2 and 1.3 clients (ECDHE, RSA, ECDSA, Ed25519, AES-GCM), X.509,
# PEM and PKCS#12 (AES and 3DES; the RC2 and RC4 of old Windows exports in
# the legacy provider, built in: no-module), compiled for size (-Os; the
# ciphers' assembly is unchanged): Debian's libcrypto.a carries every
# algorithm of the default provider, all of which the executable's pages
# hold (~1.4 MB more resident).  OPENSSLDIR stays Debian's, /usr/lib/ssl
# (openssl.cnf, certs/).
ossl_opts="no-shared no-module no-dso no-engine no-async no-comp
    no-ssl3 no-dtls no-psk no-srp no-srtp no-nextprotoneg no-sctp no-ct
    no-ocsp no-cms no-cmp no-ts no-rfc3779 no-ui-console no-ssl-trace
    no-aria no-bf no-blake2 no-camellia no-cast no-chacha no-poly1305
    no-dsa no-ec2m no-gost no-idea no-md4 no-mdc2 no-multiblock no-ocb
    no-rc5 no-rmd160 no-scrypt no-seed no-siphash no-siv
    no-sm2 no-sm3 no-sm4 no-whirlpool no-tests no-uplink
    no-afalgeng no-capieng no-padlockeng"
ossl_id=$(echo "$ossl_opts" | cksum)
if [ ! -f "$pfx/lib/libcrypto.a" ] ||
    [ "$(cat "$pfx/lib/libcrypto.id" 2>/dev/null)" != "$ossl_id" ]; then
	rm -f "$src/openssl/.unpacked" "$pfx/lib/libcrypto.a"
	fetch openssl
	say "building OpenSSL"
	b=$src/openssl/tree
	# shellcheck disable=SC2086
	(cd "$b" && ./Configure linux-"$(uname -m)" --prefix=/usr \
	    --libdir=lib --openssldir=/usr/lib/ssl $ossl_opts -Os \
	    >"$out/openssl-configure.log" 2>&1) ||
	    { tail -n 30 "$out/openssl-configure.log" >&2; exit 1; }
	make -s -C "$b" -j"$jobs" build_libs >"$out/openssl-make.log" 2>&1 ||
	    { tail -n 30 "$out/openssl-make.log" >&2; exit 1; }
	rm -rf "$out/openssl-stage"
	make -s -C "$b" DESTDIR="$out/openssl-stage" install_dev >/dev/null
	mkdir -p "$pfx/lib" "$pfx/include"
	rm -rf "$pfx/include/openssl"
	cp -R "$out/openssl-stage/usr/include/openssl" "$pfx/include/"
	cp "$out/openssl-stage/usr/lib/libssl.a" \
	    "$out/openssl-stage/usr/lib/libcrypto.a" "$pfx/lib/"
	echo "$ossl_id" > "$pfx/lib/libcrypto.id"
fi

# --- libcurl: HTTP(S) over OpenSSL, zlib, threaded resolver ---------------
# With the patches of scripts/static-patches/curl-*.patch (performance
# only, see each file's header); a change to them builds libcurl again
# from a fresh source tree.
curl_id=$(cat "$root"/scripts/static-patches/curl-*.patch \
    "$pfx/lib/libcrypto.id" | cksum)
if [ ! -f "$pfx/lib/libcurl.a" ] ||
    [ "$(cat "$pfx/lib/libcurl.id" 2>/dev/null)" != "$curl_id" ]; then
	rm -f "$src/curl/.unpacked" "$pfx/lib/libcurl.a"
	fetch curl
	b=$src/curl/tree
	for p in "$root"/scripts/static-patches/curl-*.patch; do
		say "patching libcurl: $(basename "$p")"
		patch -d "$b" -p1 -s < "$p"
	done
	say "building libcurl"
	(cd "$b" && [ -x configure ] || autoreconf -fi >/dev/null)
	(cd "$b" && ./configure -q --prefix="$pfx" --disable-shared \
	    --enable-static --with-pic --with-openssl="$pfx" --with-zlib \
	    --enable-threaded-resolver --enable-ipv6 --enable-proxy \
	    --disable-cookies \
	    --disable-ftp --disable-file --disable-ldap --disable-ldaps \
	    --disable-rtsp --disable-dict --disable-telnet --disable-tftp \
	    --disable-pop3 --disable-imap --disable-smb --disable-smtp \
	    --disable-gopher --disable-mqtt --disable-manual \
	    --disable-ntlm --disable-ntlm-wb --disable-kerberos-auth \
	    --disable-negotiate-auth --disable-aws --disable-alt-svc \
	    --disable-hsts --disable-doh --disable-netrc --disable-unix-sockets \
	    --disable-tls-srp --disable-websockets \
	    --without-libpsl --without-libidn2 --without-nghttp2 \
	    --without-nghttp3 --without-ngtcp2 --without-quiche \
	    --without-brotli --without-zstd --without-libssh2 --without-libssh \
	    --without-librtmp --without-gssapi --without-libgsasl \
	    --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt \
	    --with-ca-path=/etc/ssl/certs \
	    >"$out/curl-configure.log" 2>&1) ||
	    { tail -n 30 "$out/curl-configure.log" >&2; exit 1; }
	make -s -C "$b/lib" -j"$jobs" >"$out/curl-make.log" 2>&1 ||
	    { tail -n 30 "$out/curl-make.log" >&2; exit 1; }
	make -s -C "$b/lib" install >/dev/null
	make -s -C "$b/include" install >/dev/null
	echo "$curl_id" > "$pfx/lib/libcurl.id"
fi

# --- libmicrohttpd: no TLS (the health listener is plain HTTP) -------------
if [ ! -f "$pfx/lib/libmicrohttpd.a" ]; then
	fetch libmicrohttpd
	say "building libmicrohttpd"
	b=$src/libmicrohttpd/tree
	(cd "$b" && ./configure -q --prefix="$pfx" --disable-shared \
	    --enable-static --with-pic --disable-https --without-gnutls \
	    --disable-doc --disable-examples --disable-curl \
	    --disable-dauth --disable-bauth --disable-postprocessor \
	    --disable-httpupgrade --disable-sendfile \
	    >"$out/mhd-configure.log" 2>&1) ||
	    { tail -n 30 "$out/mhd-configure.log" >&2; exit 1; }
	make -s -C "$b/src/microhttpd" -j"$jobs" >"$out/mhd-make.log" 2>&1 ||
	    { tail -n 30 "$out/mhd-make.log" >&2; exit 1; }
	make -s -C "$b/src/microhttpd" install >/dev/null
	make -s -C "$b/src/include" install >/dev/null
fi

# --- cJSON: one file ------------------------------------------------------
if [ ! -f "$pfx/lib/libcjson.a" ]; then
	fetch cjson
	say "building cJSON"
	b=$src/cjson/tree
	mkdir -p "$pfx/include/cjson" "$pfx/lib"
	cp "$b/cJSON.h" "$pfx/include/cjson/cJSON.h"
	cc -O2 -fPIC -c -o "$out/cJSON.o" "$b/cJSON.c"
	ar rcs "$pfx/lib/libcjson.a" "$out/cJSON.o"
fi

# --- akvd -----------------------------------------------------------------
# The objects are compiled against the headers of the libraries linked in.
say "linking akvd"
make -s -C "$root" STATIC_PREFIX="$pfx" build/static/akvd
