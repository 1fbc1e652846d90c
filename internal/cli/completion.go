//go:build !pcocc_launcher

package cli

// Shell completion: `pcocc completion bash|zsh|fish`, and the dynamic
// completion functions that commands attach to their arguments and flags
// (ValidArgsFunction, RegisterFlagCompletionFunc):
//
//	completeImages(g, n)         [REPO:]NAME of every repository, first n args
//	completeRunTarget(g)         an image or a template, then nothing
//	completeTemplates(g)         template names
//	completeModules(g)           module names, in a comma-separated list
//	completeRepos(g)             repository names (a flag's value)
//	onlyFirst(f)                 f for the first argument, nothing after
//	positional(f0, f1, ...)      fi for argument i, files after
//	completeRepoPrefix(g)        "REPO:" prefixes, for a destination image name
//
// They read the configuration and the repositories like any command, but
// print no warning (the shell would show it in the middle of the line) and
// create no repository.

import (
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/resolve"
)

func newCompletionCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print the completion script of a shell. It completes commands, options,
image names (NAME and REPO:NAME of every repository), template, module and
repository names. 'make install' installs the scripts; bash loads its own
only with the bash-completion package installed (apt or dnf install
bash-completion). To try one in the current shell:

  source <(pcocc completion bash)
  pcocc completion fish | source`,
		Example: `  pcocc completion bash > ~/.local/share/bash-completion/completions/pcocc
  pcocc completion zsh > "${fpath[1]}/_pcocc"
  pcocc completion fish > ~/.config/fish/completions/pcocc.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      exactArgs(1, "a shell: bash, zsh or fish"),
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(g.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(g.Stdout)
			case "fish":
				return root.GenFishCompletion(g.Stdout, true)
			}
			return usageError("completion: unknown shell %q (expected bash, zsh or fish)", args[0])
		},
	}
}

// quietly makes g silent for a completion function.
func quietly(g *Globals) *Globals {
	g.Log = slog.New(slog.DiscardHandler)
	return g
}

// completeImages completes image names for the first n arguments (n < 0:
// every argument); later arguments get the shell's file completion.
func completeImages(g *Globals, n int) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if n >= 0 && len(args) >= n {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return filterPrefix(imageNames(quietly(g)), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeRunTarget completes the IMAGE|TEMPLATE argument of run; the
// command and its arguments that follow get file completion.
func completeRunTarget(g *Globals) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		out := append(templateNames(quietly(g)), imageNames(g)...)
		return filterPrefix(out, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeTemplates completes template names.
func completeTemplates(g *Globals) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return filterPrefix(templateNames(quietly(g)), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeModules completes the last module of a comma-separated list.
func completeModules(g *Globals) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		done, last := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		mods, _ := quietly(g).config().Modules()
		var out []cobra.Completion
		for _, m := range mods {
			if strings.HasPrefix(m.Name, last) {
				out = append(out, cobra.CompletionWithDesc(done+m.Name, m.Description))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeRepos completes a repository name (a flag's value; wrap it in
// onlyFirst for an argument).
func completeRepos(g *Globals) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return filterPrefix(repoCompletions(quietly(g), ""), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// positional completes argument i with fns[i]; a nil entry and the
// arguments past the list get the shell's file completion.
func positional(fns ...cobra.CompletionFunc) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(fns) || fns[len(args)] == nil {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return fns[len(args)](c, args, toComplete)
	}
}

// onlyFirst uses f for the first positional argument and completes
// nothing after it.
func onlyFirst(f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f(c, args, toComplete)
	}
}

// completeRepoPrefix completes "REPO:" for a destination image name (copy,
// import), with no space after it so the user types the name.
func completeRepoPrefix(g *Globals) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return filterPrefix(repoCompletions(quietly(g), ":"), toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func repoCompletions(g *Globals, suffix string) []cobra.Completion {
	repos, _ := g.config().Repositories()
	out := make([]cobra.Completion, 0, len(repos))
	for _, r := range repos {
		out = append(out, cobra.CompletionWithDesc(r.Name+suffix, repoDescription(r)))
	}
	return out
}

func repoDescription(r config.Repository) string {
	if r.Description != "" {
		return r.Description
	}
	return r.Path
}

// imageNames lists NAME (once, for the repository that a bare name finds)
// and REPO:NAME for every image of every existing repository.
func imageNames(g *Globals) []cobra.Completion {
	set, err := g.repos()
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, n := range resolve.ImageNames(set) {
		desc := "image in " + n.Repo
		if n.Qualified {
			desc = "image"
		}
		out = append(out, cobra.CompletionWithDesc(n.Name, desc))
	}
	return out
}

func templateNames(g *Globals) []cobra.Completion {
	tpls, _ := g.config().Templates()
	out := make([]cobra.Completion, 0, len(tpls))
	for _, t := range tpls {
		desc := "template"
		if t.Description != "" {
			desc += ": " + t.Description
		}
		out = append(out, cobra.CompletionWithDesc(t.Name, desc))
	}
	return out
}

// filterPrefix keeps the completions that start with prefix (the part
// before a description's tab).
func filterPrefix(in []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range in {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}
