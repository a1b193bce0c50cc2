// Command tlog-interop checks erst's logs with Go's reference implementation
// (golang.org/x/mod/sumdb/note and sumdb/tlog), from which the C2SP formats
// were written, and writes the log Go would write for the same entries.
//
//	tlog-interop check <dir> <vkey>
//	    verifies <dir>/checkpoint with note.Open, recomputes every tile of its
//	    size from the entry bundles with tlog.ReadTileData and compares them
//	    byte for byte, checks the root with tlog.TreeHash, then each
//	    <dir>/../proofs/*.tlog-proof with tlog.CheckRecord and each
//	    <dir>/../consistency/* with tlog.CheckTree. Prints "ok N" lines.
//	tlog-interop write <dir> <skey> <origin> <entries file>
//	    writes tiles, entry bundles and a signed checkpoint for the entries
//	    (32 bytes each, concatenated).
//
// Go's tlog names tiles tile/<H>/<L>/<N>; C2SP's tlog-tiles drops the height
// (always 8), which is the only translation here.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlog-interop: "+format+"\n", args...)
	os.Exit(1)
}

// c2spPath turns Go's tile path into the C2SP one; level -1 (Go's "data") is an entry bundle.
func c2spPath(t tlog.Tile) string {
	p := t.Path()
	p = strings.TrimPrefix(p, fmt.Sprintf("tile/%d/", height))
	p = strings.Replace(p, "data/", "entries/", 1)
	return "tile/" + p
}

// finalTiles is every tile of a tree of the given size: tlog.NewTiles also
// lists each intermediate width of a partial tile (as if the log had been
// published one entry at a time); keep the widest per (level, index).
func finalTiles(size int64) []tlog.Tile {
	var out []tlog.Tile
	for _, t := range tlog.NewTiles(height, 0, size) {
		if len(out) > 0 && out[len(out)-1].L == t.L && out[len(out)-1].N == t.N {
			out[len(out)-1] = t
			continue
		}
		out = append(out, t)
	}
	return out
}

type memStore []tlog.Hash

func (s memStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s[x]
	}
	return out, nil
}

func build(entries [][]byte) memStore {
	var store memStore
	for i, e := range entries {
		hashes, err := tlog.StoredHashes(int64(i), e, store)
		if err != nil {
			fail("StoredHashes: %v", err)
		}
		store = append(store, hashes...)
	}
	return store
}

func readBundle(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			fail("truncated bundle")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			fail("truncated entry")
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out
}

func bundle(entries [][]byte) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		binary.Write(&b, binary.BigEndian, uint16(len(e)))
		b.Write(e)
	}
	return b.Bytes()
}

func parseCheckpoint(text string) (origin string, size int64, root tlog.Hash) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		fail("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err = tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}
	return lines[0], size, root
}

func check(dir, vkey string) {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("NewVerifier: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("note.Open: %v", err)
	}
	origin, size, root := parseCheckpoint(n.Text)
	fmt.Printf("ok checkpoint %s %d\n", origin, size)

	var entries [][]byte
	for _, t := range finalTiles(size) {
		if t.L != 0 {
			continue
		}
		data := tlog.Tile{H: height, L: -1, N: t.N, W: t.W}
		raw, err := os.ReadFile(filepath.Join(dir, c2spPath(data)))
		if err != nil {
			fail("%v", err)
		}
		entries = append(entries, readBundle(raw)...)
	}
	if int64(len(entries)) != size {
		fail("%d entries for size %d", len(entries), size)
	}
	store := build(entries)
	th, err := tlog.TreeHash(size, store)
	if err != nil || th != root {
		fail("TreeHash %v: %v != %v", err, th, root)
	}
	fmt.Printf("ok root\n")
	tiles := 0
	for _, t := range finalTiles(size) {
		want, err := tlog.ReadTileData(t, store)
		if err != nil {
			fail("ReadTileData: %v", err)
		}
		got, err := os.ReadFile(filepath.Join(dir, c2spPath(t)))
		if err != nil {
			fail("%v", err)
		}
		if !bytes.Equal(got, want) {
			fail("tile %s differs", c2spPath(t))
		}
		tiles++
	}
	fmt.Printf("ok tiles %d\n", tiles)

	// The tiles alone (as a client fetching them would) give the same root.
	tr := tileReader{dir}
	th2, err := tlog.TreeHash(size, tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tr))
	if err != nil || th2 != root {
		fail("TileHashReader: %v", err)
	}
	fmt.Printf("ok tile hash reader\n")

	proofs, _ := filepath.Glob(filepath.Join(dir, "..", "proofs", "*.tlog-proof"))
	for _, p := range proofs {
		raw, err := os.ReadFile(p)
		if err != nil {
			fail("%v", err)
		}
		parts := strings.SplitN(string(raw), "\n\n", 2)
		lines := strings.Split(parts[0], "\n")
		if lines[0] != "c2sp.org/tlog-proof@v1" {
			fail("%s: header", p)
		}
		index, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "index "), 10, 64)
		if err != nil {
			fail("%s: index", p)
		}
		var proof tlog.RecordProof
		for _, l := range lines[2:] {
			h, err := tlog.ParseHash(l)
			if err != nil {
				fail("%s: hash", p)
			}
			proof = append(proof, h)
		}
		pn, err := note.Open([]byte(parts[1]), note.VerifierList(verifier))
		if err != nil {
			fail("%s: note.Open: %v", p, err)
		}
		_, psize, proot := parseCheckpoint(pn.Text)
		if err := tlog.CheckRecord(proof, psize, proot, index, tlog.RecordHash(entries[index])); err != nil {
			fail("%s: CheckRecord: %v", p, err)
		}
	}
	fmt.Printf("ok proofs %d\n", len(proofs))

	// consistency/<old>: base64 hashes, one a line, from <old> to this checkpoint's size.
	cons, _ := filepath.Glob(filepath.Join(dir, "..", "consistency", "*"))
	for _, c := range cons {
		old, err := strconv.ParseInt(filepath.Base(c), 10, 64)
		if err != nil || old < 1 {
			fail("%s: name", c)
		}
		raw, err := os.ReadFile(c)
		if err != nil {
			fail("%v", err)
		}
		var proof tlog.TreeProof
		for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			if l == "" {
				continue
			}
			h, err := tlog.ParseHash(l)
			if err != nil {
				fail("%s: hash", c)
			}
			proof = append(proof, h)
		}
		oldRoot, err := tlog.TreeHash(old, store)
		if err != nil {
			fail("%v", err)
		}
		if err := tlog.CheckTree(proof, size, root, old, oldRoot); err != nil {
			fail("%s: CheckTree: %v", c, err)
		}
	}
	fmt.Printf("ok consistency %d\n", len(cons))
}

type tileReader struct{ dir string }

func (r tileReader) Height() int { return height }
func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(r.dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}
func (r tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func write(dir, skey, origin, entriesFile string) {
	raw, err := os.ReadFile(entriesFile)
	if err != nil {
		fail("%v", err)
	}
	if len(raw)%32 != 0 {
		fail("entries file is not 32-byte entries")
	}
	var entries [][]byte
	for i := 0; i < len(raw); i += 32 {
		entries = append(entries, raw[i:i+32])
	}
	size := int64(len(entries))
	store := build(entries)
	put := func(path string, data []byte) {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fail("%v", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			fail("%v", err)
		}
	}
	for _, t := range finalTiles(size) {
		data, err := tlog.ReadTileData(t, store)
		if err != nil {
			fail("ReadTileData: %v", err)
		}
		put(c2spPath(t), data)
		if t.L == 0 {
			start := t.N << height
			put(c2spPath(tlog.Tile{H: height, L: -1, N: t.N, W: t.W}), bundle(entries[start:start+int64(t.W)]))
		}
	}
	root, err := tlog.TreeHash(size, store)
	if err != nil {
		fail("TreeHash: %v", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		fail("NewSigner: %v", err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
	msg, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		fail("note.Sign: %v", err)
	}
	put("checkpoint", msg)
	fmt.Printf("ok wrote %d\n", size)
}

func main() {
	switch {
	case len(os.Args) == 4 && os.Args[1] == "check":
		check(os.Args[2], os.Args[3])
	case len(os.Args) == 6 && os.Args[1] == "write":
		write(os.Args[2], os.Args[3], os.Args[4], os.Args[5])
	default:
		fail("usage: tlog-interop check <dir> <vkey> | write <dir> <skey> <origin> <entries>")
	}
}
