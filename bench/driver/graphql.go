package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// The GraphQL scenarios compare one page of 30 articles with their authors
// over GraphQL and over REST (expand=author). Articles are a collection of
// their own, so the posts scenarios keep their shape.
const (
	articlesCollection = "articles"
	articlesPath       = "/api/collections/" + articlesCollection + "/records"
	seedAuthors        = 30
	seedArticles       = 300
)

// restExpandQuery is the REST side: the page GraphQL asks for.
const restExpandQuery = "?perPage=30&expand=author"

// graphqlListQuery selects what the REST call answers: every field of the
// articles and of their authors that a guest may read.
const graphqlListQuery = `{ articlesList(perPage: 30) { page perPage totalItems totalPages items {
  id collectionId collectionName title body views published created updated authorId
  author { id collectionId collectionName name avatar emailVisibility verified created updated } } } }`

// seedArticles makes users readable by guests (so authors expand), creates
// seedAuthors users and seedArticles articles, each by one of them, and
// writes the GraphQL request body to a file for wrk.
func (in *instance) seedArticles(ctx context.Context) error {
	rules := map[string]any{"listRule": "", "viewRule": ""}
	if err := in.call(ctx, http.MethodPatch, "/api/collections/users", rules, nil); err != nil {
		return err
	}
	def := map[string]any{
		"name": articlesCollection, "type": "base", "listRule": "", "viewRule": "",
		"fields": append(append([]map[string]any(nil), postsCollection["fields"].([]map[string]any)...),
			map[string]any{"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1}),
	}
	if err := in.call(ctx, http.MethodPost, "/api/collections", def, nil); err != nil {
		return err
	}
	authors := make([]map[string]any, seedAuthors)
	for i := range authors {
		email := fmt.Sprintf("author%d@example.com", i)
		authors[i] = map[string]any{"method": "POST", "url": "/api/collections/users/records",
			"body": map[string]any{"email": email, "password": userPass, "passwordConfirm": userPass, "name": fmt.Sprintf("Author %d", i)}}
	}
	ids, err := in.batch(ctx, authors)
	if err != nil {
		return fmt.Errorf("seeding authors: %w", err)
	}
	articles := make([]map[string]any, seedArticles)
	for i := range articles {
		articles[i] = map[string]any{"method": "POST", "url": articlesPath, "body": map[string]any{
			"title": fmt.Sprintf("Article number %d", i), "body": loremBody, "views": i, "published": true,
			"author": ids[i%len(ids)]}}
	}
	if _, err := in.batch(ctx, articles); err != nil {
		return fmt.Errorf("seeding articles: %w", err)
	}
	body, err := json.Marshal(map[string]any{"query": graphqlListQuery})
	if err != nil {
		return err
	}
	// wrk counts answers, not their content: check the query works first.
	var res struct {
		Data struct {
			ArticlesList struct {
				Items []struct {
					Author *struct{ Name string } `json:"author"`
				} `json:"items"`
			} `json:"articlesList"`
		} `json:"data"`
		Errors []any `json:"errors"`
	}
	if err := in.call(ctx, http.MethodPost, "/api/graphql", json.RawMessage(body), &res); err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	items := res.Data.ArticlesList.Items
	if len(res.Errors) > 0 || len(items) != 30 || items[0].Author == nil {
		return fmt.Errorf("graphql: the list query answered %d items and errors %v", len(items), res.Errors)
	}
	in.graphqlFile = filepath.Join(in.dir, "graphql.json")
	return os.WriteFile(in.graphqlFile, body, 0o640)
}

// batch sends creates through /api/batch and returns the new ids.
func (in *instance) batch(ctx context.Context, reqs []map[string]any) ([]string, error) {
	var res []struct {
		Status int `json:"status"`
		Body   struct {
			ID string `json:"id"`
		} `json:"body"`
	}
	if err := in.call(ctx, http.MethodPost, "/api/batch", map[string]any{"requests": reqs}, &res); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(res))
	for _, r := range res {
		if r.Status != http.StatusOK || r.Body.ID == "" {
			return nil, fmt.Errorf("a batch item answered %d", r.Status)
		}
		ids = append(ids, r.Body.ID)
	}
	return ids, nil
}
