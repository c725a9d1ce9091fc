/** Entry point of the dashboard bundle. */
import { render } from 'solid-js/web'
import { App } from './app.tsx'
import './styles.css'

const root = document.getElementById('root')
if (root === null) throw new Error('dashboard: the page has no #root element')
render(() => <App />, root)
