package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/digestpin/digestpin/internal/github"
	"github.com/digestpin/digestpin/internal/promote"
)

// Environment variables of the GitHub flags. The key's PEM may come only
// from the environment or a file, never argv.
const (
	envGitHubAppID          = "DIGESTPIN_GITHUB_APP_ID"
	envGitHubAppKey         = "DIGESTPIN_GITHUB_APP_KEY"
	envGitHubInstallationID = "DIGESTPIN_GITHUB_INSTALLATION_ID"
	envGitHubAPIURL         = "DIGESTPIN_GITHUB_API_URL"
)

// githubFlags are the flags of commands that change a config repository on
// GitHub (promote, pin).
func githubFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "github-app-id", EnvVars: []string{envGitHubAppID}, Usage: "act as this GitHub App (App ID or client ID), with an installation token limited to the remote's repository"},
		&cli.StringFlag{Name: "github-app-key", Usage: "file holding the GitHub App's private key (PEM); or put the PEM in $" + envGitHubAppKey, TakesFile: true},
		&cli.Int64Flag{Name: "github-installation-id", EnvVars: []string{envGitHubInstallationID}, Usage: "the app's installation (default: looked up from the repository)"},
		&cli.StringFlag{Name: "github-api-url", EnvVars: []string{envGitHubAPIURL}, Value: github.DefaultAPIURL, Usage: "GitHub API: https://api.github.com, or your Enterprise Server's https://HOST (or https://HOST/api/v3)"},
		&cli.StringFlag{Name: "commit-via", Value: "git", Usage: "git: build the commit locally and push it; api: create it with GitHub's createCommitOnBranch, signed by GitHub (Verified)"},
		&cli.BoolFlag{Name: "pull-request", Usage: "put the change on branch digestpin/<path> and open a pull request (or update the open one), for protected branches"},
		&cli.StringSliceFlag{Name: "pr-label", Usage: "label for the pull request; repeatable"},
		&cli.BoolFlag{Name: "pr-auto-merge", Usage: "enable auto-merge of the pull request (merged at once when there is nothing to wait for)"},
		&cli.StringFlag{Name: "pr-merge-method", Usage: "merge method for --pr-auto-merge: merge, squash or rebase (default merge)"},
	}
}

// githubOptions reads the GitHub flags; nil when none asks for GitHub.
func githubOptions(c *cli.Context) (*promote.GitHub, error) {
	key := []byte(os.Getenv(envGitHubAppKey))
	if file := c.String("github-app-key"); file != "" {
		if len(key) > 0 {
			return nil, fmt.Errorf("give the GitHub App key either with --github-app-key or in $%s, not both", envGitHubAppKey)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--github-app-key: %w", err)
		}
		key = data
	}
	g := &promote.GitHub{
		AppID:          strings.TrimSpace(c.String("github-app-id")),
		AppKey:         key,
		InstallationID: c.Int64("github-installation-id"),
		APIURL:         c.String("github-api-url"),
		CommitVia:      c.String("commit-via"),
		PullRequest:    c.Bool("pull-request"),
		Labels:         c.StringSlice("pr-label"),
		AutoMerge:      c.Bool("pr-auto-merge"),
		MergeMethod:    c.String("pr-merge-method"),
	}
	if g.AppID == "" && len(g.AppKey) == 0 && g.CommitVia == "git" && !g.PullRequest &&
		len(g.Labels) == 0 && !g.AutoMerge && g.MergeMethod == "" {
		return nil, nil
	}
	switch {
	case g.AppID == "" && len(g.AppKey) > 0:
		return nil, errors.New("a GitHub App key was given without --github-app-id")
	case g.AppID != "" && len(g.AppKey) == 0:
		return nil, fmt.Errorf("--github-app-id needs the app's private key: --github-app-key FILE, or the PEM in $%s", envGitHubAppKey)
	case g.CommitVia != "git" && g.CommitVia != "api":
		return nil, fmt.Errorf("--commit-via %q: want git or api", g.CommitVia)
	case g.MergeMethod != "" && !g.AutoMerge:
		return nil, errors.New("--pr-merge-method applies with --pr-auto-merge only")
	case (len(g.Labels) > 0 || g.AutoMerge) && !g.PullRequest:
		return nil, errors.New("--pr-label and --pr-auto-merge apply with --pull-request only")
	case g.MergeMethod != "" && g.MergeMethod != "merge" && g.MergeMethod != "squash" && g.MergeMethod != "rebase":
		return nil, fmt.Errorf("--pr-merge-method %q: want merge, squash or rebase", g.MergeMethod)
	case (g.CommitVia == "api" || g.PullRequest) && g.AppID == "" && os.Getenv(envGitToken) == "":
		return nil, fmt.Errorf("--commit-via api and --pull-request call GitHub's API: give a GitHub App (--github-app-id and its key) or a token in $%s", envGitToken)
	}
	return g, nil
}

// githubFlagNames spells the GitHub options promote's errors name.
var githubFlagNames = map[promote.Option]string{
	promote.OptGitHubAppID:   "--github-app-id",
	promote.OptGitHubAppKey:  "--github-app-key",
	promote.OptGitHubAPIURL:  "--github-api-url",
	promote.OptCommitVia:     "--commit-via",
	promote.OptPullRequest:   "--pull-request",
	promote.OptPRLabels:      "--pr-label",
	promote.OptPRAutoMerge:   "--pr-auto-merge",
	promote.OptPRMergeMethod: "--pr-merge-method",
	promote.OptToken:         "$" + envGitToken,
}

// githubHint adds to a GitHub failure what to do in terms of flags.
func githubHint(err error) string {
	var e *github.Error
	switch {
	case errors.Is(err, github.ErrRuleViolation):
		return " (--pull-request opens a pull request instead)"
	case errors.As(err, &e) && e.Kind == github.ErrUnauthorized && strings.Contains(e.Op, "GitHub App"):
		return fmt.Sprintf(" (check --github-app-id and the key in --github-app-key or $%s)", envGitHubAppKey)
	}
	return ""
}
