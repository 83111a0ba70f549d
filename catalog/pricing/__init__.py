"""The pricing engine: one pure function from (product, rules, settings) to a sale price.

`engine` knows no database: `catalog.selectors.pricing_book()` loads a `Book` from the tables,
`catalog.services.pricing` stores the results. Previews and recomputes call the same function.
"""
