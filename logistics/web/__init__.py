"""The website chat: the demo page, the embeddable widget's files and the public /web/api it calls."""
