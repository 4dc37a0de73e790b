//go:build ignore

// Exported counts the exported API of packages: top-level names (func, type, var, const — the
// measure of issue 11), methods of exported types (interface methods included) and fields of
// exported structs, in the non-test files of each directory given.
//
//	go run scripts/exported.go [-v] callplan engine payment
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	verbose := flag.Bool("v", false, "list the names")
	flag.Parse()
	var total [3]int
	for _, dir := range flag.Args() {
		names, methods, fields := count(dir)
		if *verbose {
			for _, n := range append(names, methods...) {
				fmt.Println(dir, n)
			}
		}
		fmt.Printf("%-10s top-level %4d  methods %4d  fields %4d\n", dir, len(names), len(methods), len(fields))
		total[0] += len(names)
		total[1] += len(methods)
		total[2] += len(fields)
	}
	fmt.Printf("%-10s top-level %4d  methods %4d  fields %4d\n", "total", total[0], total[1], total[2])
}

func count(dir string) (names, methods, fields []string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if strings.HasSuffix(af.Name.Name, "_test") || af.Name.Name == "main" {
			continue
		}
		for _, d := range af.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					names = append(names, "func "+d.Name.Name)
				} else if recv := recvName(d.Recv.List[0].Type); ast.IsExported(recv) {
					methods = append(methods, "method "+recv+"."+d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						names = append(names, "type "+s.Name.Name)
						switch t := s.Type.(type) {
						case *ast.StructType:
							for _, fl := range t.Fields.List {
								for _, n := range fl.Names {
									if n.IsExported() {
										fields = append(fields, s.Name.Name+"."+n.Name)
									}
								}
							}
						case *ast.InterfaceType:
							for _, fl := range t.Methods.List {
								for _, n := range fl.Names {
									if n.IsExported() {
										methods = append(methods, "method "+s.Name.Name+"."+n.Name)
									}
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names = append(names, d.Tok.String()+" "+n.Name)
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(names)
	sort.Strings(methods)
	return names, methods, fields
}

func recvName(t ast.Expr) string {
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}
