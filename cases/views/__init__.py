"""The cases' server-rendered pages, by what they are for: pages (home, the list, opening a case, the case
page), actions (the case page's posts) and monitor (the field monitor's "Checks due" page and its service
worker). They call selectors and services; the rules live there."""
